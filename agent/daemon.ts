/**
 * The agent daemon: one durable buffer and one uplink per destination, the
 * configured inputs appending to those buffers, a status file for
 * `tributary-agent status`, Prometheus metrics on localhost, and systemd
 * notifications. Inputs never send anything themselves: they append, and the
 * uplinks drain on their own schedule (DESIGN.md, "Agent data path").
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { DiskBuffer } from './buffer/index.ts';
import type { AgentConfig } from './config.ts';
import { FileTailInput, parseFileTailConfig } from './inputs/file-tail.ts';
import { HttpInput, parseHttpInputConfig } from './inputs/http.ts';
import { parseSocketInputConfig, SocketInput } from './inputs/socket.ts';
import { JournaldInput, parseJournaldInputConfig } from './inputs/journald.ts';
import { parseSerialPortConfig, SerialInput, serialMetricsText, type SerialPortCounters } from './inputs/serial.ts';
import type { RecordSink } from './inputs/common.ts';
import type { Notifier } from './systemd-notify.ts';
import { Uplink, UplinkScheduler } from './uplink/index.ts';
import type { DeviceCredentials } from '../sdk/devices/pairing.ts';
import { TributaryError } from '../sdk/protocol/errors.ts';

export interface AgentLogger {
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

export interface AgentStatus {
  device: string;
  startedAt: string;
  destinations: Record<string, { stream: string; depthRecords: number; depthBytes: number; oldestUnsentAgeMs: number | undefined; link: string; lastError: string | undefined; sent: number; deadLettered: number; dropped: number }>;
  /** Per serial port (by name), when `inputs.serial` is configured. */
  serial?: Record<string, SerialPortCounters>;
}

export const statusFileName = 'status.json';

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

export async function runAgent(config: AgentConfig, o: { log: AgentLogger; notifier: Notifier }): Promise<RunningAgent> {
  const creds = readCredentials(config.gateway.credentials);
  const stateDir = path.resolve(config.state.dir);
  const endpoint = config.gateway.endpoint ?? creds.endpoint;
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
        segmentBytes: config.buffer.segmentBytes,
        capBytes: config.buffer.capBytes,
        capPolicy: config.buffer.capPolicy,
        ...(encryptionKey ? { encryptionKey } : {}),
        onProblem: (p) => o.log.warn('buffer problem', { destination: name, ...p }),
      });
      buffers.set(name, buffer);
      const stream = d.stream.split('${device}').join(creds.name);
      const uplink = new Uplink({
        buffer, stream, endpoint, region: creds.region,
        credentials: { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey },
        ca: creds.caCertificate, cert: creds.clientCertificate, key: creds.clientKey,
        batchRecordsMax: config.uplink.batchRecordsMax, batchBytesMax: config.uplink.batchBytesMax,
        retryMaxMs: config.uplink.retryMaxMs, maxRecordAgeMs: config.uplink.maxRecordAgeMs, aggregate: d.aggregate,
        requestTimeoutMs: config.uplink.requestTimeoutMs, lingerMs: config.uplink.lingerMs,
        scheduler, priority: d.priority, newestFirst: d.newestFirst, catchUpAgeMs: config.uplink.catchUpAgeMs,
        ...(d.bandwidthBytesPerSecondMax ? { bandwidthBytesPerSecondMax: d.bandwidthBytesPerSecondMax } : {}),
        // Exactly once: each request carries <device>/<destination>/<batch> as its idempotency key.
        producerId: `${creds.name}/${name}`, intentFile: path.join(uplinkDir, `${name}.json`), intentSync: config.buffer.fsync !== 'never',
        onEvent: (e) => o.log.info('uplink', { destination: name, ...(e as unknown as Record<string, unknown>) }),
      });
      uplinks.set(name, { uplink, stream });
      uplink.start();
    }
  } catch (err) {
    for (const b of buffers.values()) await b.close();
    throw err;
  }

  const sinks = new Map<string, RecordSink>([...buffers].map(([n, b]) => [n, b]));
  const inputs: Array<{ stop(): Promise<void> }> = [];
  const inputsDir = path.join(stateDir, 'inputs');
  fs.mkdirSync(inputsDir, { recursive: true, mode: 0o700 });
  if (config.inputs.mqtt.rules?.length) {
    const { rules, ...rest } = config.inputs.mqtt;
    // Loaded only when configured: the MQTT client and its dependencies are half of the bundle.
    const { MqttInput, parseMqttInputConfig } = await import('./inputs/mqtt.ts');
    const mqtt = new MqttInput(parseMqttInputConfig({ ...rest, rules: rules.map(withoutEmptyKey) }), sinks, { onEvent: (e) => o.log.info('mqtt', { ...(e as unknown as Record<string, unknown>) }) });
    mqtt.start();
    inputs.push(mqtt);
  }
  for (const [i, f] of (config.inputs.files ?? []).entries()) {
    const tail = new FileTailInput(parseFileTailConfig({ name: `files-${i}`, ...withoutEmptyKey(f), stateDir: inputsDir }, `inputs.files[${i}]`), sinks.get(f.destination)!, {
      onEvent: (e) => o.log.info('file', { ...(e as unknown as Record<string, unknown>) }),
    });
    await tail.start();
    inputs.push(tail);
  }
  if (config.inputs.journald.destination !== undefined) {
    const j = config.inputs.journald;
    const journald = new JournaldInput(parseJournaldInputConfig({ ...withoutEmptyKey(j), stateDir: inputsDir }), sinks.get(j.destination!)!, {
      onEvent: (e) => o.log.info('journald', { ...(e as unknown as Record<string, unknown>) }),
    });
    await journald.start();
    inputs.push(journald);
  }
  let serial: SerialInput | undefined;
  if (config.inputs.serial?.length) {
    serial = new SerialInput(config.inputs.serial.map((p, i) => parseSerialPortConfig({ ...p, stateDir: inputsDir }, `inputs.serial[${i}]`)), sinks, {
      onEvent: (e) => o.log.info('serial', { ...(e as unknown as Record<string, unknown>) }),
    });
    serial.start();
    inputs.push(serial);
  }
  if (config.inputs.socket.enabled ?? config.inputs.socket.destination !== undefined) {
    const socket = new SocketInput(parseSocketInputConfig(config.inputs.socket), sinks, {
      onEvent: (e) => o.log.info('socket', { ...(e as unknown as Record<string, unknown>) }),
    });
    await socket.start();
    inputs.push(socket);
  }
  if (config.inputs.http.enabled) {
    const httpInput = new HttpInput(parseHttpInputConfig(config.inputs.http), sinks, {
      onEvent: (e) => o.log.info('http', { ...(e as unknown as Record<string, unknown>) }),
    });
    await httpInput.start();
    inputs.push(httpInput);
  }

  const status = (): AgentStatus => ({
    device: creds.name,
    startedAt,
    ...(serial ? { serial: serial.counters() } : {}),
    destinations: Object.fromEntries(
      [...uplinks].map(([name, { uplink, stream }]) => {
        const b = buffers.get(name)!.stats();
        const u = uplink.stats();
        return [name, {
          stream, depthRecords: b.depthRecords, depthBytes: b.depthBytes, oldestUnsentAgeMs: u.oldestUnsentAgeMs,
          link: u.link, lastError: u.lastError?.message, sent: u.sentRecords, deadLettered: b.deadLetteredRecords, dropped: b.droppedRecords,
        }];
      }),
    ),
  });
  const writeStatus = () => {
    const tmp = path.join(stateDir, `${statusFileName}.tmp`);
    fs.writeFileSync(tmp, JSON.stringify(status(), null, 2) + '\n', { mode: 0o640 });
    fs.renameSync(tmp, path.join(stateDir, statusFileName));
  };
  writeStatus();
  const statusTimer = setInterval(writeStatus, 5000);
  statusTimer.unref();

  const metrics = config.metrics.port ? await serveMetrics(config.metrics.port, status) : undefined;
  await o.notifier.ready(`${buffers.size} destinations, ${inputs.length} inputs`);
  o.notifier.startWatchdog(() => true);
  o.log.info('agent running', { device: creds.name, endpoint, destinations: [...buffers.keys()], inputs: inputs.length });

  return {
    metricsPort: metrics?.port,
    status,
    async stop(deadlineMs) {
      await o.notifier.stopping();
      o.notifier.stopWatchdog();
      clearInterval(statusTimer);
      for (const i of inputs) await i.stop();
      await Promise.all([...uplinks.values()].map(({ uplink }) => uplink.stop({ deadlineMs })));
      writeStatus();
      for (const b of buffers.values()) await b.close();
      await new Promise<void>((r) => (metrics ? metrics.server.close(() => r()) : r()));
    },
  };
}

/** The config schema fills an absent `partitionKey` with `{}`; the inputs want it absent (their default applies). */
function withoutEmptyKey<T extends { partitionKey?: object }>(o: T): T {
  if (o.partitionKey && Object.keys(o.partitionKey).length === 0) {
    const { partitionKey: _unused, ...rest } = o;
    return rest as T;
  }
  return o;
}

/** Prometheus text on 127.0.0.1 only: buffer depth, age and uplink state per destination. */
async function serveMetrics(port: number, status: () => AgentStatus): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    const s = status();
    let out = '# HELP tributary_agent_buffer_records Records waiting to be sent.\n# TYPE tributary_agent_buffer_records gauge\n';
    for (const [d, v] of Object.entries(s.destinations)) out += `tributary_agent_buffer_records{destination="${d}"} ${v.depthRecords}\n`;
    out += '# HELP tributary_agent_buffer_bytes Bytes waiting to be sent.\n# TYPE tributary_agent_buffer_bytes gauge\n';
    for (const [d, v] of Object.entries(s.destinations)) out += `tributary_agent_buffer_bytes{destination="${d}"} ${v.depthBytes}\n`;
    out += '# HELP tributary_agent_oldest_unsent_age_seconds Age of the oldest unsent record.\n# TYPE tributary_agent_oldest_unsent_age_seconds gauge\n';
    for (const [d, v] of Object.entries(s.destinations)) out += `tributary_agent_oldest_unsent_age_seconds{destination="${d}"} ${(v.oldestUnsentAgeMs ?? 0) / 1000}\n`;
    out += '# HELP tributary_agent_link_up Whether the uplink reaches the gateway.\n# TYPE tributary_agent_link_up gauge\n';
    for (const [d, v] of Object.entries(s.destinations)) out += `tributary_agent_link_up{destination="${d}"} ${v.link === 'up' ? 1 : 0}\n`;
    if (s.serial) out += serialMetricsText(s.serial);
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' }).end(out);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return { server, port: (server.address() as { port: number }).port };
}
