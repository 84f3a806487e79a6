/**
 * sd_notify for the agent: READY=1 when started, WATCHDOG=1 at half the
 * watchdog interval, STOPPING=1 on shutdown, STATUS= text along the way.
 *
 * Node cannot send on a Unix datagram socket, so this runs systemd's own
 * `systemd-notify` (the unit sets NotifyAccess=all so that a child may speak
 * for the agent, and MAINPID names the agent). Outside systemd (no
 * NOTIFY_SOCKET) every call is a no-op.
 */
import { execFile } from 'node:child_process';

export interface Notifier {
  ready(status?: string): Promise<void>;
  status(text: string): Promise<void>;
  stopping(): Promise<void>;
  /** Starts WATCHDOG=1 pings at half of WATCHDOG_USEC while `healthy()` says so. */
  startWatchdog(healthy: () => boolean): void;
  stopWatchdog(): void;
}

export function createNotifier(env: NodeJS.ProcessEnv = process.env, command = 'systemd-notify'): Notifier {
  const socket = env.NOTIFY_SOCKET;
  let timer: NodeJS.Timeout | undefined;
  const send = (...assignments: string[]) =>
    new Promise<void>((resolve) => {
      if (!socket) return resolve();
      // A failed notification must not take the agent down; systemd restarts it if the watchdog starves.
      execFile(command, [`MAINPID=${process.pid}`, ...assignments], { env: { ...env, NOTIFY_SOCKET: socket }, timeout: 5000 }, () => resolve());
    });
  return {
    ready: (status) => send('READY=1', ...(status ? [`STATUS=${status}`] : [])),
    status: (text) => send(`STATUS=${text}`),
    stopping: () => send('STOPPING=1'),
    startWatchdog(healthy) {
      const usec = Number(env.WATCHDOG_USEC);
      const pid = env.WATCHDOG_PID ? Number(env.WATCHDOG_PID) : process.pid;
      if (!socket || !Number.isFinite(usec) || usec <= 0 || pid !== process.pid) return;
      timer = setInterval(() => {
        if (healthy()) void send('WATCHDOG=1');
      }, Math.max(100, usec / 2000));
      timer.unref();
    },
    stopWatchdog() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}
