#!/usr/bin/env node
/**
 * `tributary-agent`: the edge daemon's command line — run, pair, status,
 * configuration checks and the operator's buffer tools.
 */
import path from 'node:path';
import { Command } from 'commander';
import fs from 'node:fs';
import { defaultStateDir, loadAgentConfig, volatileStateMessage, volatileStateReason } from '../agent/config.ts';
import { runAgent } from '../agent/daemon.ts';
import { readStatus } from '../agent/status.ts';
import { createNotifier } from '../agent/systemd-notify.ts';
import { createLogger } from '../sdk/log.ts';
import { exportBuffer, inspectBuffer, verifyBuffer } from '../agent/buffer/index.ts';
// The camera code (fluent-ffmpeg among it) and the video time parser load only for the commands that use them:
// the daemon without cameras never needs them (issue #15: start-up time and memory on small devices).
const cameraModule = () => import('../agent/camera/index.ts');
import { AwsError, TributaryError } from '../sdk/protocol/errors.ts';

const program = new Command('tributary-agent')
  .description('Tributary edge agent: buffers telemetry, logs and video on the device and ships them to the gateway.')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)');

const print = (v: unknown): void => void process.stdout.write(JSON.stringify(v, null, 2) + '\n');
/** The config file when -c is not given: $TRIBUTARY_AGENT_CONFIG, else the path the systemd unit uses. */
const defaultConfig = process.env.TRIBUTARY_AGENT_CONFIG || '/etc/tributary/agent.yaml';
/** `tributary-agent status` exits with this when the agent is not running (LSB: "program is not running"). */
const exitNotRunning = 3;

/** The buffer root: --dir, or <state.dir>/buffer from the config. */
function bufferRoot(o: { config?: string; dir?: string }): string {
  if (o.dir) return path.resolve(o.dir);
  return path.join(loadAgentConfig(o.config ?? defaultConfig).state.dir, 'buffer');
}

program
  .command('run')
  .description('Run the agent: inputs into durable buffers, uplinks to the gateway. SIGTERM flushes within --stop-deadline and exits; SIGHUP reloads the config.')
  .option('-c, --config <file>', 'config file', defaultConfig)
  .option('--stop-deadline <ms>', 'how long SIGTERM may spend sending before exiting', (v) => Number(v), 10_000)
  .action(async (o: { config: string; stopDeadline: number }) => {
    let config = loadAgentConfig(o.config);
    const log = createLogger({ level: config.log.level, base: { component: 'agent' } });
    const notifier = createNotifier();
    // The stop signals are handled from the first moment: a SIGTERM while the agent starts (status.json already
    // names this process) waits for the start to finish and then stops cleanly, instead of killing it mid-start.
    const starting = runAgent(config, { log, notifier });
    let agent: Awaited<typeof starting> | undefined;
    let busy = false;
    const stop = async (signal: string) => {
      if (busy) return;
      busy = true;
      log.info('stopping', { signal, deadlineMs: o.stopDeadline });
      setTimeout(() => process.exit(1), o.stopDeadline + 10_000).unref();
      const started = await starting.catch(() => undefined); // A failed start reports itself below.
      if (started) await (agent ?? started).stop(o.stopDeadline);
      process.exit(started ? 0 : 1);
    };
    process.on('SIGTERM', () => void stop('SIGTERM'));
    process.on('SIGINT', () => void stop('SIGINT'));
    agent = await starting;
    process.on('SIGHUP', () => {
      if (busy || !agent) return;
      busy = true;
      void (async () => {
        try {
          const next = loadAgentConfig(o.config); // a broken file keeps the running config
          await agent!.stop(o.stopDeadline);
          try {
            agent = await runAgent(next, { log, notifier });
            config = next;
            log.info('reloaded configuration', { file: o.config });
          } catch (err) {
            log.error('new configuration failed to start; back to the previous one', { err: (err as Error).message });
            agent = await runAgent(config, { log, notifier });
          }
        } catch (err) {
          log.error('reload failed; keeping the previous configuration', { err: (err as Error).message });
        } finally {
          busy = false;
        }
      })();
    });
  });

program
  .command('status')
  .description(`Whether the agent runs (pid, start time, age of what it last reported), then buffer depth per destination, oldest unsent record age, link state and last error. Exits ${exitNotRunning} when it is not running.`)
  .option('-c, --config <file>', `config file (default ${defaultConfig}; or set TRIBUTARY_AGENT_CONFIG)`)
  .option('--state-dir <dir>', 'read the status from this state directory instead of the config\'s state.dir')
  .action((o: { config?: string; stateDir?: string }) => {
    const reading = readStatus(o.stateDir ?? statusStateDir(o.config));
    const { status, ...about } = reading;
    print({ running: about.running, ...(about.reason ? { reason: about.reason } : {}), ...(about.stale ? { stale: true } : {}), pid: status?.pid, startedAt: status?.startedAt, statusAgeMs: about.ageMs, file: about.file, ...status });
    if (!reading.running) process.exitCode = exitNotRunning;
  });

/** The state directory `status` reads: from -c, or the default config, or a message saying how to point at one. */
function statusStateDir(config: string | undefined): string {
  const file = config ?? defaultConfig;
  if (config === undefined && !fs.existsSync(file)) {
    throw new TributaryError('AGENT_CONFIG_MISSING', `no config at ${file}: point at one with -c <file> (or TRIBUTARY_AGENT_CONFIG=<file>), or at the state directory with --state-dir <dir>`);
  }
  return loadAgentConfig(file).state.dir;
}

program
  .command('check-config')
  .description('Validate the agent config and print the effective settings.')
  .option('-c, --config <file>', 'config file', defaultConfig)
  .action((o: { config: string }) => print(loadAgentConfig(o.config)));

program
  .command('pair <gateway-url> <code>')
  .description('Pair this device with a gateway: pins the CA fingerprint, creates the device identity and stores credentials (0600).')
  .requiredOption('--ca-fingerprint <fingerprint>', 'the CA fingerprint the operator was given with the code')
  .option('--state-dir <dir>', 'where credentials.json goes (the config\'s state.dir)', defaultStateDir)
  .option('--volatile-state', 'allow a state directory that does not survive a reboot (tests, demos; the config then needs state.volatile: true)')
  .action(async (url: string, code: string, o: { caFingerprint: string; stateDir: string; volatileState?: boolean }) => {
    // The same rule as `run`, so that a device is never paired into a directory the agent then refuses.
    const volatile = volatileStateReason(o.stateDir);
    if (volatile && !o.volatileState) throw new TributaryError('AGENT_STATE_VOLATILE', `--state-dir ${volatileStateMessage(volatile, 'pass --volatile-state')}`);
    // Loaded only here: X.509 and its ASN.1 schemas cost the running daemon memory for nothing.
    const { pairDevice, credentialsFileName } = await import('../sdk/devices/pairing.ts');
    const creds = await pairDevice({ endpoint: url, code, caFingerprint: o.caFingerprint, directory: o.stateDir });
    print({ paired: creds.name, deviceId: creds.deviceId, policy: creds.policy, credentials: path.join(path.resolve(o.stateDir), credentialsFileName) });
  });

const buffer = program.command('buffer').description('Inspect, verify and export the on-disk buffer (read-only; safe while the agent runs).');
const bufferCommand = (spec: string, description: string) =>
  buffer.command(spec).description(description).option('-c, --config <file>', 'config file (for state.dir)', defaultConfig).option('--dir <dir>', 'buffer root directory (instead of the config)');

bufferCommand('inspect', 'Depth, ages and segments per destination; fragments, bytes and time range per camera.').action(async (o: { config?: string; dir?: string }) => {
  const root = bufferRoot(o);
  const cameras = await cameraRings(path.dirname(root));
  print({ ...(await inspectBuffer(root)), ...(Object.keys(cameras).length ? { cameras } : {}) });
});
bufferCommand('verify', 'Check every record checksum; exit 1 on corruption.').action(async (o: { config?: string; dir?: string }) => {
  const r = await verifyBuffer(bufferRoot(o));
  print(r);
  if (!r.ok) process.exitCode = 1;
});
bufferCommand('export <destination> <file>', 'Write unsent records as JSON lines that offline replay reads; a progress bar on a terminal.').action(async (destination: string, file: string, o: { config?: string; dir?: string }) => {
  const root = bufferRoot(o);
  // On a terminal, a bar on stderr (stdout keeps the JSON result): a card's backlog can take minutes.
  const total = process.stderr.isTTY ? (await inspectBuffer(root)).destinations.find((d) => d.destination === destination)?.depthRecords : undefined;
  const bar = total ? await exportProgressBar(total) : undefined;
  try {
    const result = await exportBuffer(root, destination, file, bar ? { onProgress: (n) => bar.update(n) } : {});
    bar?.stop();
    print(result);
  } catch (err) {
    bar?.stop();
    throw err;
  }
});

/** A cli-progress bar of records exported (loaded only on a terminal: the daemon never needs it). */
async function exportProgressBar(total: number): Promise<{ update(n: number): void; stop(): void }> {
  const { default: cliProgress } = await import('cli-progress');
  const bar = new cliProgress.SingleBar({
    format: ' {bar} {percentage}% | {value}/{total} records | {rate} rec/s | ETA {eta_formatted}',
    hideCursor: true, clearOnComplete: false, etaBuffer: 50, fps: 5, stream: process.stderr,
  }, cliProgress.Presets.shades_classic);
  const startedMs = Date.now();
  bar.start(total, 0, { rate: 0 });
  return {
    update: (n) => bar.update(n, { rate: Math.round(n / Math.max(0.001, (Date.now() - startedMs) / 1000)) }),
    stop: () => bar.stop(),
  };
}

/** Per camera ring under <state>/camera: what `buffer inspect` shows. */
async function cameraRings(stateDir: string): Promise<Record<string, { fragments: number; bytes: number; oldestAt?: string; newestEndAt?: string }>> {
  const dir = path.join(stateDir, 'camera');
  const out: Record<string, { fragments: number; bytes: number; oldestAt?: string; newestEndAt?: string }> = {};
  const names = fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
  const { listRing } = names.length ? await cameraModule() : { listRing: undefined };
  for (const name of names) {
    const entries = listRing!(path.join(dir, name));
    const last = entries.at(-1);
    out[name] = {
      fragments: entries.length, bytes: entries.reduce((n, e) => n + e.bytes, 0),
      ...(entries[0] ? { oldestAt: new Date(entries[0].producerMs).toISOString() } : {}),
      ...(last ? { newestEndAt: new Date(last.producerMs + last.durationMs).toISOString() } : {}),
    };
  }
  return out;
}

buffer
  .command('export-video <camera> <file>')
  .description('Write a time range of a camera\'s buffered video (recorded, not yet uploaded) as one playable MKV file.')
  .option('-c, --config <file>', 'config file (for state.dir)', defaultConfig)
  .option('--state-dir <dir>', 'the agent\'s state directory (instead of the config)')
  .option('--start <time>', 'from: now, -10m, epoch seconds or ISO 8601 (default: the oldest fragment)')
  .option('--end <time>', 'to: as --start (default: the newest fragment)')
  .option('--absolute', 'keep capture times (epoch ms) as the file\'s timecodes instead of starting at zero')
  .action(async (camera: string, file: string, o: { config: string; stateDir?: string; start?: string; end?: string; absolute?: boolean }) => {
    const stateDir = path.resolve(o.stateDir ?? loadAgentConfig(o.config).state.dir);
    const { cameraRingDir, exportCameraRange } = await cameraModule();
    const { ringKey } = await import('../agent/camera/fragment-file.ts');
    const { parseTime } = await import('./video-playback-commands.ts');
    const dir = cameraRingDir(stateDir, camera);
    if (!fs.existsSync(dir)) throw new TributaryError('CAMERA_NOT_FOUND', `no buffer for camera "${camera}" in ${path.join(stateDir, 'camera')} (cameras: ${Object.keys(await cameraRings(stateDir)).join(', ') || 'none'})`);
    const keyFile = path.join(stateDir, 'keys', 'buffer.key');
    const key = fs.existsSync(keyFile) ? ringKey(fs.readFileSync(keyFile)) : undefined;
    const result = await exportCameraRange(dir, file, {
      ...(o.start ? { startMs: parseTime(o.start) * 1000 } : {}), ...(o.end ? { endMs: parseTime(o.end) * 1000 } : {}),
      ...(key ? { key } : {}), ...(o.absolute ? { absolute: true } : {}),
    });
    print(result);
    if (result.fragments === 0) {
      process.stderr.write('tributary-agent: no fragments in that range\n');
      process.exitCode = 1;
    }
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof TributaryError || err instanceof AwsError) {
    process.stderr.write(`tributary-agent: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`tributary-agent: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
