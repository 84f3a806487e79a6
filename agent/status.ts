/**
 * `status.json` in the state directory: what the running agent says about
 * itself every few seconds (buffer depth, link, last error per destination),
 * and what `tributary-agent status` reads. The file alone cannot tell a
 * running agent from a dead one, so it carries the writer's pid, boot id and
 * start time, and the reader checks that process is alive and is the agent,
 * and how old the file is (issue #15).
 *
 * Writing never stops the agent: on a full disk the write fails, is logged
 * once (and once more when it works again), and is tried at the next tick.
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomicSync } from '../sdk/fs/atomic-file.ts';
import type { ConditionLog } from './condition-log.ts';
import type { SerialPortCounters } from './inputs/serial.ts';
import type { CameraStatus } from './camera/index.ts';

export const statusFileName = 'status.json';
export const statusIntervalMsDefault = 5000;

export interface DestinationStatus {
  stream: string;
  depthRecords: number;
  depthBytes: number;
  oldestUnsentAgeMs: number | undefined;
  /** `unknown` until the uplink first heard from the gateway (or failed to reach it). */
  link: string;
  lastError: string | undefined;
  sent: number;
  /** Records sent again after a failed request (a probe while the link is down counts one). */
  retried: number;
  deadLettered: number;
  dropped: number;
  /** Appends refused (reject-newest cap, or a full disk). */
  rejected: number;
  capBytes: number;
}

export interface AgentStatus {
  device: string;
  pid: number;
  /** The kernel's boot id: a pid from another boot says nothing. */
  bootId: string;
  startedAt: string;
  writtenAt: string;
  /** Set by the last write of a clean stop. */
  stoppedAt?: string;
  disk: { low: boolean; freeBytes: number | undefined };
  destinations: Record<string, DestinationStatus>;
  /** Per serial port (by name), when `inputs.serial` is configured. */
  serial?: Record<string, SerialPortCounters>;
  /** Per camera (by name), when `inputs.camera` is configured. */
  cameras?: Record<string, CameraStatus>;
}

export function bootId(): string {
  try {
    return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

export class StatusWriter {
  readonly file: string;

  constructor(stateDir: string, private readonly conditions: ConditionLog) {
    this.file = path.join(stateDir, statusFileName);
  }

  /** Replaces the file (no fsync: it is advisory, and the rename keeps it whole); false when the disk refused. */
  write(status: AgentStatus): boolean {
    try {
      writeFileAtomicSync(this.file, JSON.stringify(status, null, 2) + '\n', { mode: 0o640, sync: false });
    } catch (err) {
      this.conditions.raise('status-write', 'warn', `cannot write ${statusFileName}`, { file: this.file, error: (err as Error).message });
      return false;
    }
    this.conditions.clear('status-write', `${statusFileName} written again`, { file: this.file });
    return true;
  }
}

export interface StatusReading {
  file: string;
  /** The agent that wrote the file is alive now. */
  running: boolean;
  /** Why it is not running (or why the file says nothing). */
  reason?: string;
  /** Milliseconds since the agent wrote the file. */
  ageMs?: number;
  /** Running, but the file is older than three status intervals: the agent may be stuck (or its disk full). */
  stale?: boolean;
  status?: AgentStatus;
}

/** Reads `status.json` and decides whether its writer still runs. */
export function readStatus(stateDir: string, now = Date.now()): StatusReading {
  const file = path.join(stateDir, statusFileName);
  let status: AgentStatus;
  try {
    status = JSON.parse(fs.readFileSync(file, 'utf8')) as AgentStatus;
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    return { file, running: false, reason: missing ? `no ${file}: the agent has not run with this state directory` : `cannot read ${file}: ${(err as Error).message}` };
  }
  const ageMs = Math.max(0, now - Date.parse(status.writtenAt ?? status.startedAt));
  const base = { file, status, ageMs };
  if (status.stoppedAt) return { ...base, running: false, reason: `the agent stopped at ${status.stoppedAt}` };
  if (!Number.isSafeInteger(status.pid)) return { ...base, running: false, reason: 'the status names no process (written by an older agent)' };
  if (status.bootId !== bootId()) return { ...base, running: false, reason: 'the machine rebooted since the status was written' };
  if (!isAgentProcess(status.pid)) return { ...base, running: false, reason: `process ${status.pid} is gone (the agent died without stopping)` };
  return { ...base, running: true, ...(ageMs > 3 * statusIntervalMsDefault ? { stale: true } : {}) };
}

function isAgentProcess(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    // A reused pid belongs to some other program: the agent's command line names its bundle or bin.
    return /tributary-agent/.test(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
  } catch {
    return true; // No /proc (not Linux): the pid check is all there is.
  }
}
