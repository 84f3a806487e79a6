/**
 * The agent daemon: one durable buffer and one uplink per destination, the
 * configured inputs appending to those buffers, a status file for
 * `tributary-agent status`, Prometheus metrics on localhost, and systemd
 * notifications. Inputs never send anything themselves: they append, and the
 * uplinks drain on their own schedule (DESIGN.md, "Agent data path").
 *
 * A full disk does not stop it (issue #15): a reserve file keeps metadata
 * writes going while the uplinks drain, buffers are capped from the disk's
 * free space unless told otherwise, and conditions (a full disk, a lost link,
 * refused appends) are logged once when they start and once when they end.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { DiskBuffer, bufferLimits, type BufferProblem } from './buffer/index.ts';
import type { RunningCameras } from './camera/index.ts';
import { volatileStateReason, type AgentConfig } from './config.ts';
import { ConditionLog } from './condition-log.ts';
import { DiskReserve, diskSpace, planCaps, type CapPlan } from './disk-space.ts';
import type { RecordSink } from './inputs/common.ts';
import { startHeartbeat } from './heartbeat.ts';
import { serveMetrics } from './metrics.ts';
import { startInputs } from './start-inputs.ts';
import { bootId, StatusWriter, statusIntervalMsDefault, type AgentStatus } from './status.ts';
import type { Notifier } from './systemd-notify.ts';
import { Uplink, UplinkScheduler, type UplinkEvent } from './uplink/index.ts';
import type { DeviceCredentials } from '../sdk/devices/pairing.ts';
import { removeOrphanedTmpFiles } from '../sdk/fs/atomic-file.ts';
import { TributaryError } from '../sdk/protocol/errors.ts';

export { statusFileName, type AgentStatus } from './status.ts';

export interface AgentLogger {
  debug?(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export interface RunningAgent {
  /** Stops inputs, sends what it can within `deadlineMs`, closes buffers: unsent records stay buffered. */
  stop(deadlineMs: number): Promise<void>;
  status(): AgentStatus;
  metricsPort: number | undefined;
}

export function readCredentials(file: string): DeviceCredentials {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as DeviceCredentials;
  } catch (err) {
    throw new TributaryError('AGENT_NOT_PAIRED', `cannot read device credentials ${file}: ${(err as Error).message} (pair first: tributary-agent pair <gateway-url> <code> --ca-fingerprint <fp>)`);
  }
}

/** The buffer encryption key: 32 random bytes in <state>/keys/buffer.key (0600), made once. */
function bufferKey(stateDir: string): Uint8Array {
  const file = path.join(stateDir, 'keys', 'buffer.key');
  if (fs.existsSync(file)) return fs.readFileSync(file);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const key = randomBytes(32);
  fs.writeFileSync(file, key, { mode: 0o600, flag: 'wx' });
  return key;
}

/** Removes the temporary files a kill -9 left behind in the state directory (the buffers sweep their own). */
function sweepOrphans(stateDir: string, log: AgentLogger): void {
  let n = 0;
  for (const dir of [stateDir, path.join(stateDir, 'uplink'), path.join(stateDir, 'inputs')]) n += removeOrphanedTmpFiles(dir);
  // Older agents wrote status.json.tmp.
  const legacy = path.join(stateDir, 'status.json.tmp');
  if (fs.existsSync(legacy)) {
    fs.rmSync(legacy, { force: true });
    n++;
  }
  if (n > 0) log.info('removed temporary files left by an earlier run', { stateDir, files: n });
}

/** Bytes the destinations' segment files hold now (the cap may count that space as theirs). */
function bufferedBytes(root: string): number {
  let n = 0;
  for (const d of fs.existsSync(root) ? fs.readdirSync(root) : []) {
    const dir = path.join(root, d);
    if (!fs.statSync(dir).isDirectory()) continue;
    for (const f of fs.readdirSync(dir)) if (f.endsWith('.seg')) n += fs.statSync(path.join(dir, f)).size;
  }
  return n;
}

/** Each destination's cap and segment size, from the config and the disk; warns when the disk cannot hold the configured cap. */
function planBuffers(config: AgentConfig, stateDir: string, space: DiskReserve, log: AgentLogger): CapPlan {
  const d = diskSpace(stateDir);
  const b = config.buffer;
  const plan = planCaps({
    freeBytes: d?.freeBytes ?? Number.MAX_SAFE_INTEGER, bufferedBytes: bufferedBytes(path.join(stateDir, 'buffer')),
    destinations: Object.keys(config.destinations).length, capFreePercent: b.capFreePercent, headroomBytes: space.headroomBytes,
    capBytesMin: bufferLimits.capBytesMin, capSegmentsMin: bufferLimits.capSegmentsMin,
    ...(b.capBytes !== undefined ? { capBytes: b.capBytes } : {}), ...(b.segmentBytes !== undefined ? { segmentBytes: b.segmentBytes } : {}),
  });
  if (plan.warning) log.warn('buffer capBytes', { warning: plan.warning, capBytes: plan.capBytes, freeBytes: d?.freeBytes });
  log.info('buffer sizes', { capBytes: plan.capBytes, segmentBytes: plan.segmentBytes, chosen: b.capBytes === undefined ? `${b.capFreePercent}% of free space` : 'configured', freeBytes: d?.freeBytes });
  return plan;
}

/**
 * A destination's sink for the inputs: its buffer, with refusals logged as a
 * condition of the destination (once when they start, with counts when they end).
 */
function observedSink(name: string, buffer: DiskBuffer, conditions: ConditionLog, appended: () => void): RecordSink {
  const key = `append:${name}`;
  return {
    nextSequence: (source) => buffer.nextSequence(source),
    async append(records) {
      try {
        const out = await buffer.append(records);
        appended();
        if (conditions.isRaised(key)) conditions.clear(key, 'buffer takes records again', { destination: name });
        return out;
      } catch (err) {
        const code = String((err as { code?: unknown }).code ?? 'UNKNOWN');
        conditions.raise(key, 'warn', 'buffer refuses records', { destination: name, code, error: (err as Error).message }, { records: records.length });
        throw err;
      }
    },
  };
}

function onBufferProblem(name: string, conditions: ConditionLog, log: AgentLogger): (p: BufferProblem) => void {
  return (p) => {
    const fields = { destination: name, ...p };
    if (p.kind === 'rejected') return; // The sink logs refusals as a condition.
    if (p.kind === 'dropped') conditions.raise(`dropped:${name}`, 'warn', 'buffer at its cap: dropping the oldest records (drop-oldest)', fields, { records: p.records ?? 0 });
    else if (p.kind === 'disk-full') conditions.raise(`disk-full:${name}`, 'error', 'buffer: no space left on the disk', fields);
    else log.warn('buffer problem', fields);
  };
}

/** Uplink events as conditions: a lost link, throttling and refusals are logged when they start and end, retries counted. */
function onUplinkEvent(name: string, conditions: ConditionLog, log: AgentLogger): (e: UplinkEvent) => void {
  return (e) => {
    const d = { destination: name };
    switch (e.type) {
      case 'link':
        if (e.state === 'down') conditions.raise(`link:${name}`, 'warn', 'link down: the gateway is unreachable', { ...d, error: e.error });
        else if (conditions.isRaised(`link:${name}`)) conditions.clear(`link:${name}`, 'link up', d);
        else log.info('link up', d);
        return;
      case 'retry':
        if (e.failure === 'unreachable') conditions.raise(`link:${name}`, 'warn', 'link down: the gateway is unreachable', { ...d, error: e.error }, { retries: 1 });
        else conditions.raise(`${e.failure}:${name}`, e.failure === 'refused' ? 'error' : 'warn', `the gateway ${e.failure === 'refused' ? 'refuses' : 'fails'} records`, { ...d, error: e.error }, { retries: 1, records: e.records });
        return;
      case 'throttled':
        conditions.raise(`throttled:${name}`, 'warn', 'the gateway throttles this destination', { ...d, pacedRecordsPerSecond: e.pacedRecordsPerSecond }, { records: e.records });
        return;
      case 'intent-unsaved':
        conditions.raise(`intent:${name}`, 'error', 'cannot write the send window down: until it can, a crash may send records twice', { ...d, error: e.error });
        return;
      case 'intent-saved':
        conditions.clear(`intent:${name}`, 'send window written down again', d);
        return;
      case 'intent-mismatch':
        log.warn('the written-down send state does not match the buffer: records that were in flight may be stored twice', d);
        return;
      case 'shard-map-unavailable':
        log.warn('cannot read the stream\'s shard map: lanes split the hash key space evenly', { ...d, error: e.error });
        return;
      case 'dead-lettered':
        log.error('records dead-lettered', { ...d, records: e.records, reason: e.reason });
        return;
      case 'stopped':
        (e.error ? log.error : log.info).call(log, 'uplink stopped', { ...d, unsentRecords: e.unsentRecords, ...(e.error ? { error: e.error } : {}) });
        return;
      default:
        log.info('uplink', { ...d, ...(e as unknown as Record<string, unknown>) });
    }
  };
}

export async function runAgent(config: AgentConfig, o: { log: AgentLogger; notifier: Notifier; statusIntervalMs?: number; heartbeatIntervalMs?: number }): Promise<RunningAgent> {
  const creds = readCredentials(config.gateway.credentials);
  const stateDir = path.resolve(config.state.dir);
  const endpoint = config.gateway.endpoint ?? creds.endpoint;
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const volatile = volatileStateReason(stateDir);
  if (volatile && !config.state.volatile) throw new TributaryError('AGENT_STATE_VOLATILE', `state.dir ${volatile}; set state.volatile: true to allow it (tests, demos)`);
  if (volatile) o.log.warn('state.dir is on volatile storage (state.volatile: true): buffers and checkpoints are lost at reboot', { stateDir, reason: volatile });
  sweepOrphans(stateDir, o.log);
  const conditions = new ConditionLog(o.log);
  const space = new DiskReserve(stateDir, {
    onChange: (low, freeBytes) => {
      if (low) conditions.raise('disk-low', 'error', 'disk full: buffers take no new records until there is room', { stateDir, freeBytes });
      else {
        conditions.clear('disk-low', 'disk has room again', { stateDir, freeBytes });
        for (const name of Object.keys(config.destinations)) conditions.clear(`disk-full:${name}`, 'buffer has disk space again', { destination: name });
      }
    },
  });
  space.start();
  const plan = planBuffers(config, stateDir, space, o.log);
  const encryptionKey = config.buffer.encrypt ? bufferKey(stateDir) : undefined;
  const buffers = new Map<string, DiskBuffer>();
  const uplinks = new Map<string, { uplink: Uplink; stream: string }>();
  const startedAt = new Date().toISOString();
  const uplinkDir = path.join(stateDir, 'uplink');
  fs.mkdirSync(uplinkDir, { recursive: true, mode: 0o700 });
  // One scheduler for all uplinks: priorities between destinations and the link's shared bandwidth cap.
  const scheduler = new UplinkScheduler({
    waitMsMax: config.uplink.priorityWaitMsMax,
    ...(config.uplink.bandwidthBytesPerSecondMax ? { bandwidthBytesPerSecondMax: config.uplink.bandwidthBytesPerSecondMax } : {}),
  });
  try {
    for (const [name, d] of Object.entries(config.destinations)) {
      const buffer = await DiskBuffer.openDestination(path.join(stateDir, 'buffer'), name, {
        fsync: config.buffer.fsync as 'always',
        segmentBytes: plan.segmentBytes,
        capBytes: plan.capBytes,
        capPolicy: config.buffer.capPolicy,
        ...(encryptionKey ? { encryptionKey } : {}),
        onProblem: onBufferProblem(name, conditions, o.log),
        space,
      });
      buffers.set(name, buffer);
      const stream = d.stream.split('${device}').join(creds.name);
      const uplink = new Uplink({
        buffer, stream, endpoint, region: creds.region,
        credentials: { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey },
        ca: creds.caCertificate, cert: creds.clientCertificate, key: creds.clientKey,
        batchRecordsMax: config.uplink.batchRecordsMax, batchBytesMax: config.uplink.batchBytesMax,
        retryMaxMs: config.uplink.retryMaxMs, maxRecordAgeMs: config.uplink.maxRecordAgeMs, aggregate: d.aggregate,
        requestTimeoutMs: config.uplink.requestTimeoutMs, lingerMs: config.uplink.lingerMs, lanesMax: config.uplink.lanesMax,
        scheduler, priority: d.priority, newestFirst: d.newestFirst, catchUpAgeMs: config.uplink.catchUpAgeMs,
        ...(d.bandwidthBytesPerSecondMax ? { bandwidthBytesPerSecondMax: d.bandwidthBytesPerSecondMax } : {}),
        // Exactly once: each request carries <device>/<destination>/<batch> as its idempotency key.
        producerId: `${creds.name}/${name}`, intentFile: path.join(uplinkDir, `${name}.json`), intentSync: config.buffer.fsync !== 'never',
        space,
        onEvent: onUplinkEvent(name, conditions, o.log),
      });
      uplinks.set(name, { uplink, stream });
      uplink.start();
    }
  } catch (err) {
    for (const b of buffers.values()) await b.close();
    space.stop();
    throw err;
  }

  const sinks = new Map<string, RecordSink>([...buffers].map(([n, b]) => [n, observedSink(n, b, conditions, () => uplinks.get(n)!.uplink.appended())]));
  const inputsDir = path.join(stateDir, 'inputs');
  fs.mkdirSync(inputsDir, { recursive: true, mode: 0o700 });
  const { inputs, serial } = await startInputs(config, sinks, inputsDir, o.log);
  // Cameras have their own buffer (a ring of fragment files) and uplink (PutMedia), on the same scheduler.
  let cameras: RunningCameras | undefined;
  if (config.inputs.camera?.length) {
    // Loaded only when configured: the camera code and fluent-ffmpeg are a fifth of the bundle (issue #15, footprint).
    const { startCameras } = await import('./camera/index.ts');
    cameras = await startCameras(config.inputs.camera.map((c) => ({ ...c, stream: c.stream.split('${device}').join(creds.name) })), {
      stateDir, endpoint, region: creds.region, credentials: { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey },
      ca: creds.caCertificate, cert: creds.clientCertificate, key: creds.clientKey, scheduler, retryMaxMs: config.uplink.retryMaxMs,
      bufferKey: () => bufferKey(stateDir), encryptByDefault: config.buffer.encrypt, log: o.log, conditions,
    });
  }

  const boot = bootId();
  const status = (stoppedAt?: string): AgentStatus => ({
    device: creds.name,
    pid: process.pid,
    bootId: boot,
    startedAt,
    writtenAt: new Date().toISOString(),
    ...(stoppedAt ? { stoppedAt } : {}),
    disk: { low: space.low, freeBytes: diskSpace(stateDir)?.freeBytes },
    ...(serial ? { serial: serial.counters() } : {}),
    ...(cameras ? { cameras: cameras.status() } : {}),
    destinations: Object.fromEntries(
      [...uplinks].map(([name, { uplink, stream }]) => {
        const b = buffers.get(name)!.stats();
        const u = uplink.stats();
        return [name, {
          stream, depthRecords: b.depthRecords, depthBytes: b.depthBytes, oldestUnsentAgeMs: u.oldestUnsentAgeMs,
          link: u.link, lastError: u.lastError?.message, sent: u.sentRecords, retried: u.retriedRecords, deadLettered: b.deadLetteredRecords, dropped: b.droppedRecords,
          rejected: b.rejectedRecords, capBytes: b.capBytes,
        }];
      }),
    ),
  });
  const writer = new StatusWriter(stateDir, conditions);
  const seen = new Map<string, { throttled: number; retried: number }>();
  const tick = () => {
    writer.write(status());
    for (const [name, b] of buffers) {
      // Drop-oldest has stopped once the buffer is back under 90% of its cap.
      const st = b.stats();
      if (st.diskBytes < 0.9 * st.capBytes) conditions.clear(`dropped:${name}`, 'buffer below its cap: no longer dropping', { destination: name, dropped: st.droppedRecords });
      // A tick without throttling or retries ends those conditions.
      const u = uplinks.get(name)!.uplink.stats();
      const before = seen.get(name);
      seen.set(name, { throttled: u.throttledRecords, retried: u.retriedRecords });
      if (before?.throttled === u.throttledRecords) conditions.clear(`throttled:${name}`, 'no longer throttled', { destination: name });
      if (before?.retried === u.retriedRecords) {
        conditions.clear(`refused:${name}`, 'the gateway takes records again', { destination: name });
        conditions.clear(`transient:${name}`, 'the gateway takes records again', { destination: name });
      }
    }
  };
  tick();
  const statusTimer = setInterval(tick, o.statusIntervalMs ?? statusIntervalMsDefault);
  statusTimer.unref();

  const metrics = config.metrics.port ? await serveMetrics(config.metrics.port, status) : undefined;
  const heartbeat = startHeartbeat({
    endpoint, region: creds.region, credentials: { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey },
    ca: creds.caCertificate, cert: creds.clientCertificate, key: creds.clientKey, status, log: o.log, intervalMs: o.heartbeatIntervalMs,
  });
  await o.notifier.ready(`${buffers.size} destinations, ${inputs.length} inputs${cameras ? `, ${config.inputs.camera!.length} cameras` : ''}`);
  o.notifier.startWatchdog(() => true);
  o.log.info('agent running', { device: creds.name, endpoint, destinations: [...buffers.keys()], inputs: inputs.length, pid: process.pid });

  return {
    metricsPort: metrics?.port,
    status: () => status(),
    async stop(deadlineMs) {
      await o.notifier.stopping();
      o.notifier.stopWatchdog();
      clearInterval(statusTimer);
      heartbeat.stop();
      for (const i of inputs) await i.stop();
      await Promise.all([...[...uplinks.values()].map(({ uplink }) => uplink.stop({ deadlineMs })), cameras?.stop(deadlineMs)]);
      for (const b of buffers.values()) await b.close();
      writer.write(status(new Date().toISOString()));
      space.stop();
      await new Promise<void>((r) => (metrics ? metrics.server.close(() => r()) : r()));
    },
  };
}
