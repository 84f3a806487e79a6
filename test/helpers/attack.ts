/**
 * Hostile clients for the security tests (issue #11): raw HTTP/1.1 and HTTP/2
 * connections that send request headers and then stall, and a helper to
 * spawn a real gateway child process with the operator keys it created.
 */
import fs from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import path from 'node:path';
import https from 'node:https';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { FirehoseClient } from '@aws-sdk/client-firehose';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { pairDevice } from '../../sdk/devices/pairing.ts';
import { JsonRpcClient } from '../../sdk/http/json-rpc-client.ts';
import { spawnGateway, type SpawnedGateway } from './spawn-gateway.ts';
import { tempDir } from './gateway.ts';

export interface Keys {
  accessKeyId: string;
  secretAccessKey: string;
}

/** A real `tributary gateway start` child on plain HTTP (or TLS with `tls: true`), with its data directory and operator keys. */
export async function spawnTestGateway(args: string[] = [], o: { tls?: boolean; prlimitNofile?: number } = {}): Promise<SpawnedGateway & { dataDir: string; operator: Keys; kill(): Promise<void> }> {
  const dataDir = tempDir('trb-sec-');
  const gw = await spawnGateway([...(o.tls ? [] : ['--insecure-http']), '--data', dataDir, '--no-limits', ...args], o.prlimitNofile ? { prlimitNofile: o.prlimitNofile } : {});
  const profile = JSON.parse(fs.readFileSync(path.join(dataDir, 'operator.json'), 'utf8')) as Keys;
  return Object.assign(gw, {
    dataDir,
    operator: { accessKeyId: profile.accessKeyId, secretAccessKey: profile.secretAccessKey },
    async kill() {
      if (gw.child.exitCode === null && gw.child.signalCode === null) gw.child.kill('SIGKILL');
      await gw.exited;
    },
  });
}

export function sdkClient(url: string, keys: Keys): KinesisClient {
  return new KinesisClient({ endpoint: url, region: 'us-east-1', credentials: { ...keys }, maxAttempts: 1 });
}

/** Stock SDK clients and the admin API for a spawned TLS gateway, trusting its CA; devices paired as a device does. */
export function tlsTools(gw: { url: string; dataDir: string; operator: Keys }) {
  const ca = fs.readFileSync(path.join(gw.dataDir, 'tls', 'ca.crt'), 'utf8');
  const handler = () => new NodeHttpHandler({ httpsAgent: new https.Agent({ ca }) });
  return {
    ca,
    kinesis: (keys: Keys = gw.operator) => new KinesisClient({ endpoint: gw.url, region: 'us-east-1', credentials: { ...keys }, maxAttempts: 1, requestHandler: handler() }),
    firehose: (keys: Keys = gw.operator) => new FirehoseClient({ endpoint: gw.url, region: 'us-east-1', credentials: { ...keys }, maxAttempts: 1, requestHandler: handler() }),
    /** One call to the gateway's admin API (Tributary_20261125) as the operator. */
    async admin<T = Record<string, unknown>>(action: string, input: unknown): Promise<T> {
      const c = new JsonRpcClient({ endpoint: gw.url, region: 'us-east-1', service: 'tributary', targetPrefix: 'Tributary_20261125', credentials: gw.operator, ca });
      try {
        return await c.call<T>(action, input);
      } finally {
        c.close();
      }
    },
    /** Pairs a device over the wire (pairing code from the admin API, then /pairing) and returns its keys. */
    async pair(name: string, policy: string): Promise<Keys> {
      const c = new JsonRpcClient({ endpoint: gw.url, region: 'us-east-1', service: 'tributary', targetPrefix: 'Tributary_20261125', credentials: gw.operator, ca });
      try {
        const { Code, CaFingerprint } = await c.call<{ Code: string; CaFingerprint: string }>('CreatePairingCode', { DeviceName: name, Policy: policy });
        const creds = await pairDevice({ endpoint: gw.url, code: Code, caFingerprint: CaFingerprint });
        return { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey };
      } finally {
        c.close();
      }
    },
  };
}

/** Opens a TCP connection and writes `text`; resolves once written. The socket is left open. */
export function rawConnection(url: string, text: string, o: { localAddress?: string } = {}): Promise<net.Socket> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: u.hostname, port: Number(u.port), ...(o.localAddress ? { localAddress: o.localAddress } : {}) }, () => {
      s.write(text, () => resolve(s));
    });
    s.on('error', reject);
  });
}

/** HTTP/1.1 request headers for `POST /` with the given extra header lines, and no body. */
export function stalledPost(extra: string[]): string {
  return ['POST / HTTP/1.1', 'Host: gateway', 'Content-Type: application/x-amz-json-1.1', 'X-Amz-Target: Kinesis_20131202.PutRecords', ...extra, '', ''].join('\r\n');
}

/** Resolves when the socket closes (the server hung up), with everything it received. */
export function closedBy(s: net.Socket): Promise<string> {
  let text = '';
  s.on('data', (c: Buffer) => (text += c.toString('latin1')));
  return new Promise((resolve) => {
    if (s.destroyed) resolve(text);
    s.once('close', () => resolve(text));
  });
}

/** An HTTP/2 session with `streams` POST streams that send headers and no body. */
export async function stalledH2(url: string, streams: number): Promise<http2.ClientHttp2Session> {
  const session = http2.connect(url);
  session.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    session.once('connect', () => resolve());
    session.once('error', reject);
  });
  for (let i = 0; i < streams; i++) {
    const s = session.request({ ':method': 'POST', ':path': '/', 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'Kinesis_20131202.PutRecords' }, { endStream: false });
    s.on('error', () => {});
    s.resume();
  }
  return session;
}

/** The p-th percentile (0..100) of the samples, by the nearest-rank method. */
export function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
