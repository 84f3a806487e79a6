/**
 * Assembles a gateway: storage, services, the HTTP front door and the
 * listener. `startGateway` is what the CLI, the tests and the benchmarks run.
 */
import http from 'node:http';
import http2 from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import fsp from 'node:fs/promises';
import { createFrontDoor, requestBytesMaxDefault, type RpcService } from './http/server.ts';
import { createLogger, type Logger } from './log.ts';
import { Metrics } from './metrics.ts';
import { JsonFileStore, loadOrCreateSecret } from './storage/local/metadata-store.ts';
import type { FsyncPolicy } from './storage/types.ts';
import { streamsActions, streamsTargetPrefix } from './streams/actions/index.ts';
import { StreamRegistry } from './streams/registry.ts';
import type { StreamsContext } from './streams/shapes.ts';
import { localShardLogDefaults } from './storage/local/shard-log.ts';
import { crc32cImplementation } from './storage/local/crc.ts';
import * as limits from '../sdk/protocol/streams/limits.ts';

export interface GatewayConfig {
  dataDir: string;
  host: string;
  port: number;
  accountId: string;
  region: string;
  fsync: FsyncPolicy;
  segmentBytesMax: number;
  segmentAgeMsMax: number;
  enforceLimits: boolean;
  shardLimit: number;
  onDemandStreamCountLimit: number;
  createDelayMs: number;
  updateDelayMs: number;
  deleteDelayMs: number;
  retentionCheckIntervalMs: number;
  requestBytesMax: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
}

export const gatewayDefaults: GatewayConfig = Object.freeze({
  dataDir: './data',
  host: '127.0.0.1',
  port: 4567,
  accountId: '000000000000',
  region: 'us-east-1',
  fsync: { kind: 'always' },
  segmentBytesMax: localShardLogDefaults.segmentBytesMax,
  segmentAgeMsMax: localShardLogDefaults.segmentAgeMsMax,
  enforceLimits: true,
  shardLimit: limits.accountShardLimitDefault,
  onDemandStreamCountLimit: limits.onDemandStreamCountLimitDefault,
  createDelayMs: 500,
  updateDelayMs: 500,
  deleteDelayMs: 500,
  retentionCheckIntervalMs: 60_000,
  requestBytesMax: requestBytesMaxDefault,
  logLevel: 'info',
}) as GatewayConfig;

export interface Gateway {
  url: string;
  port: number;
  server: net.Server;
  registry: StreamRegistry;
  metrics: Metrics;
  close(): Promise<void>;
}

export async function startGateway(config: GatewayConfig, options: { log?: Logger } = {}): Promise<Gateway> {
  const log = options.log ?? createLogger({ level: config.logLevel });
  const dataDir = path.resolve(config.dataDir);
  await fsp.mkdir(dataDir, { recursive: true, mode: 0o700 });
  const secrets = {
    iteratorKey: await loadOrCreateSecret(path.join(dataDir, 'keys', 'iterator.key'), 32),
    masterKey: await loadOrCreateSecret(path.join(dataDir, 'keys', 'master.key'), 32),
  };
  const registry = await StreamRegistry.open(
    { ...config, dataDir },
    new JsonFileStore(path.join(dataDir, 'metadata', 'streams.json')),
    secrets,
    log,
  );
  const metrics = new Metrics();
  const ctx: StreamsContext = { registry, metrics };
  const streams: RpcService = {
    targetPrefix: streamsTargetPrefix,
    actions: Object.fromEntries(
      Object.entries(streamsActions).map(([name, a]) => [name, { shape: a.shape, handle: (input: Record<string, unknown>) => a.handle(ctx, input) }]),
    ),
  };
  const listener = createFrontDoor({
    services: [streams],
    requestBytesMax: config.requestBytesMax,
    log,
    metrics,
    routes: {
      '/metrics': (_req, res) => {
        for (const rt of registry.list()) metrics.openShards.set({ stream: rt.meta.name }, rt.openShards.length);
        const body = metrics.render();
        res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4', 'Content-Length': Buffer.byteLength(body) });
        res.end(body);
      },
      '/health': (_req, res) => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end('{"status":"ok"}');
      },
    },
  });
  const { server, closeConnections } = await listenDual(listener, config.host, config.port);
  const port = (server.address() as AddressInfo).port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
  log.info('gateway listening', { url, dataDir, fsync: config.fsync.kind, crc32c: crc32cImplementation });
  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    server,
    registry,
    metrics,
    close() {
      closing ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          closeConnections();
        });
        await registry.close();
      })();
      return closing;
    },
  };
}

/**
 * One cleartext port for both HTTP/1.1 (AWS CLI, curl, most SDKs) and HTTP/2
 * with prior knowledge (the AWS SDK v3 Kinesis client speaks h2 by default,
 * and SubscribeToShard needs it). The first bytes decide: an HTTP/2
 * connection opens with the "PRI * HTTP/2.0" preface, which no HTTP/1 method
 * can begin with.
 */
async function listenDual(listener: http.RequestListener, host: string, port: number): Promise<{ server: net.Server; closeConnections: () => void }> {
  const h1 = http.createServer({ keepAlive: true, requestTimeout: 120_000 }, listener);
  // SDKs keep connections alive; outlive their idle timeouts so they never race a close.
  h1.keepAliveTimeout = 65_000;
  h1.headersTimeout = 66_000;
  const h2 = http2.createServer({ maxSessionMemory: 64 }, listener as unknown as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void);
  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.ServerHttp2Session>();
  h2.on('session', (s) => {
    sessions.add(s);
    s.once('close', () => sessions.delete(s));
  });
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let seen = Buffer.alloc(0);
    const sniff = (chunk: Buffer) => {
      seen = Buffer.concat([seen, chunk]);
      if (seen.length < 3) return;
      socket.off('data', sniff);
      socket.pause();
      socket.unshift(seen);
      (seen.toString('latin1', 0, 3) === 'PRI' ? h2 : h1).emit('connection', socket);
      process.nextTick(() => socket.resume());
    };
    socket.on('data', sniff);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    server,
    closeConnections() {
      h1.closeIdleConnections();
      for (const s of sessions) s.close();
      setTimeout(() => {
        for (const s of sockets) s.destroy();
      }, 2000).unref();
    },
  };
}
