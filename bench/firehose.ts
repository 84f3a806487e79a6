/**
 * Firehose benchmark: a real gateway as a child process (plain HTTP, fsync
 * always), driven with PutRecordBatch of 1 KiB JSON records, delivering to
 * the filesystem destination. Reports, as one JSON line and a table:
 *
 * - ingest-to-delivered MiB/s, UNCOMPRESSED and GZIP: record bytes divided by
 *   the time from the first request to the delivery checkpoint covering the
 *   last record (the checkpoint file is what the gateway fsyncs after each
 *   object, so "delivered" means durable in the bucket directory);
 * - the machine's own `gzip -6` speed on the same bytes, in the same run;
 * - data freshness: the age of the oldest record of each object when it was
 *   written, under a steady trickle, against the buffering interval.
 *
 *   npm run bench -- firehose [--quick] [--mib 256] [--interval 2] [--fsync always|never|interval:<ms>]
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { algorithm, amzDateOf, canonicalRequest, sha256Hex, signature, signingKey, stringToSign } from '../sdk/protocol/sigv4.ts';
import { summarizeCpuProfile, type CpuProfile } from './lib/cpu-profile.ts';
import { cleanupSync, installCleanupHooks, removeTempDir, sparePort, spawnServer, tempDir, waitReady, type ServerProcess } from './lib/servers.ts';

export const description = 'Firehose: PutRecordBatch ingest-to-delivered MiB/s to the filesystem (UNCOMPRESSED, GZIP vs gzip -6), data freshness';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const resultsDir = path.join(root, 'bench', 'results');

export const settings = Object.freeze({
  recordBytes: 1024,
  batchRecords: 500,
  concurrency: 8,
  bodiesDistinct: 16,
  mibFull: 512,
  mibQuick: 128,
  /** Buffer size for the throughput phases: large objects, as a bulk load would use. */
  throughputBufferMiB: 64,
  throughputIntervalS: 60,
  freshnessIntervalSDefault: 2,
  freshnessPhaseMsFull: 12_000,
  freshnessPhaseMsQuick: 6_000,
  freshnessBatchEveryMs: 50,
  freshnessBatchRecords: 20,
  readyTimeoutMs: 30_000,
  deliverTimeoutMs: 300_000,
});

interface Credentials { accessKeyId: string; secretAccessKey: string; region: string }

class FirehoseHttp {
  readonly agent: http.Agent;
  constructor(readonly port: number, readonly credentials: Credentials, socketsMax: number) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: socketsMax });
  }

  /** Body hashes and the day's signing key are cached, so the load generator spends little CPU on signing. */
  private readonly hashes = new WeakMap<Buffer, string>();
  private keyDate = '';
  private key: Buffer = Buffer.alloc(0);

  private sign(target: string, body: Buffer): http.OutgoingHttpHeaders {
    const amzDate = amzDateOf(Date.now());
    const date = amzDate.slice(0, 8);
    const { accessKeyId, secretAccessKey, region } = this.credentials;
    if (date !== this.keyDate) {
      this.key = signingKey(secretAccessKey, date, region, 'firehose');
      this.keyDate = date;
    }
    let payloadHash = this.hashes.get(body);
    if (payloadHash === undefined) {
      payloadHash = sha256Hex(body);
      this.hashes.set(body, payloadHash);
    }
    const headers = { 'content-type': 'application/x-amz-json-1.1', host: `127.0.0.1:${this.port}`, 'x-amz-date': amzDate, 'x-amz-target': target };
    const signedHeaders = ['content-type', 'host', 'x-amz-date', 'x-amz-target'];
    const canonical = canonicalRequest({ method: 'POST', path: '/', query: [], headers, signedHeaders, payloadHash });
    const scope = `${date}/${region}/firehose/aws4_request`;
    const sig = signature(this.key, stringToSign(amzDate, scope, canonical));
    return { ...headers, authorization: `${algorithm} Credential=${accessKeyId}/${scope}, SignedHeaders=${signedHeaders.join(';')}, Signature=${sig}`, 'content-length': body.length };
  }

  send(action: string, body: Buffer): Promise<{ status: number; body: string }> {
    const headers = this.sign(`Firehose_20150804.${action}`, body);
    return new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: this.port, method: 'POST', path: '/', agent: this.agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  async call<T>(action: string, input: object): Promise<T> {
    const r = await this.send(action, Buffer.from(JSON.stringify(input)));
    if (r.status !== 200) throw new Error(`${action} answered ${r.status}: ${r.body.slice(0, 300)}`);
    return (r.body ? JSON.parse(r.body) : {}) as T;
  }
}

/** A JSON telemetry record of exactly `recordBytes` (newline included): repeated keys, varying numbers and ids, as devices send. */
function record(seq: number, ts: number): Buffer {
  const head = JSON.stringify({ ts, device: `dev-${String(seq % 977).padStart(4, '0')}`, seq, temp: +(20 + Math.sin(seq) * 5).toFixed(3), hum: seq % 100, status: seq % 13 ? 'ok' : 'warn', note: '' });
  const room = settings.recordBytes - Buffer.byteLength(head) - 1;
  let note = '';
  while (note.length < room) note += `${(seq * 2654435761) % 4294967296}-${Math.random().toString(36).slice(2, 10)};`;
  const out = Buffer.from(head.replace('"note":""', `"note":"${note.slice(0, room)}"`) + '\n');
  if (out.length !== settings.recordBytes) throw new Error(`record is ${out.length} bytes`);
  return out;
}

function batchBody(name: string, recs: Buffer[]): Buffer {
  return Buffer.from(JSON.stringify({ DeliveryStreamName: name, Records: recs.map((r) => ({ Data: r.toString('base64') })) }));
}

async function operatorCredentials(dataDir: string): Promise<Credentials> {
  const file = path.join(dataDir, 'operator.json');
  const deadline = Date.now() + settings.readyTimeoutMs;
  while (!fs.existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`no ${file}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as Credentials;
  return { accessKeyId: p.accessKeyId, secretAccessKey: p.secretAccessKey, region: p.region };
}

async function createActive(c: FirehoseHttp, name: string, compression: string, sizeMiB: number, intervalS: number): Promise<void> {
  await c.call('CreateDeliveryStream', {
    DeliveryStreamName: name,
    ExtendedS3DestinationConfiguration: {
      RoleARN: 'arn:aws:iam::000000000000:role/bench', BucketARN: `arn:aws:s3:::${name}`, CompressionFormat: compression,
      BufferingHints: { SizeInMBs: sizeMiB, IntervalInSeconds: intervalS },
    },
  });
  for (let i = 0; i < 400; i++) {
    const d = await c.call<{ DeliveryStreamDescription: { DeliveryStreamStatus: string } }>('DescribeDeliveryStream', { DeliveryStreamName: name });
    if (d.DeliveryStreamDescription.DeliveryStreamStatus === 'ACTIVE') return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${name} never became ACTIVE`);
}

/** The delivered-up-to counter the gateway keeps for a delivery stream (records delivered so far). */
function deliveredRecords(dataDir: string, name: string): number {
  const base = path.join(dataDir, 'firehose');
  const dir = fs.readdirSync(base).find((d) => d.startsWith(`${name}-`));
  if (!dir) return 0;
  try {
    return (JSON.parse(fs.readFileSync(path.join(base, dir, 'checkpoint.json'), 'utf8')) as { deliveredCounter: number }).deliveredCounter;
  } catch {
    return 0;
  }
}

interface ThroughputResult {
  compression: string;
  records: number;
  mib: number;
  ingestMiBps: number;
  deliveredMiBps: number;
  seconds: number;
  objects: number;
  objectMiB: number;
}

async function throughput(c: FirehoseHttp, dataDir: string, compression: string, bodies: Buffer[], batches: number): Promise<ThroughputResult> {
  const name = `tp-${compression.toLowerCase()}`;
  await createActive(c, name, compression, settings.throughputBufferMiB, settings.throughputIntervalS);
  const named = bodies.map((b) => Buffer.from(b.toString('utf8').replace('"DeliveryStreamName":"X"', `"DeliveryStreamName":"${name}"`)));
  let next = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < batches) {
      const body = named[next++ % named.length]!;
      const r = await c.send('PutRecordBatch', body);
      if (r.status !== 200 || !r.body.startsWith('{"FailedPutCount":0')) throw new Error(`PutRecordBatch answered ${r.status}: ${r.body.slice(0, 200)}`);
    }
  };
  await Promise.all(Array.from({ length: settings.concurrency }, worker));
  const tIngest = performance.now();
  const records = batches * settings.batchRecords;
  const deadline = Date.now() + settings.deliverTimeoutMs;
  // The size trigger delivers full buffers; the last partial one would wait for the interval, so the clock stops when every full buffer is delivered.
  const perBuffer = (settings.throughputBufferMiB * 1024 * 1024) / settings.recordBytes;
  while (deliveredRecords(dataDir, name) < records - (records % perBuffer)) {
    if (Date.now() > deadline) throw new Error(`${name}: delivery timed out`);
    await new Promise((r) => setTimeout(r, 10));
  }
  const tDelivered = performance.now();
  const delivered = deliveredRecords(dataDir, name);
  const mibDelivered = (delivered * settings.recordBytes) / 1024 / 1024;
  const bucket = path.join(dataDir, 'firehose-buckets', name);
  let objects = 0;
  let objectBytes = 0;
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else if (!e.name.startsWith('.')) {
        objects++;
        objectBytes += fs.statSync(path.join(d, e.name)).size;
      }
    }
  };
  if (fs.existsSync(bucket)) walk(bucket);
  const mib = (records * settings.recordBytes) / 1024 / 1024;
  return {
    compression,
    records,
    mib,
    ingestMiBps: mib / ((tIngest - t0) / 1000),
    deliveredMiBps: mibDelivered / ((tDelivered - t0) / 1000),
    seconds: (tDelivered - t0) / 1000,
    objects,
    objectMiB: objectBytes / 1024 / 1024,
  };
}

interface DrainResult {
  compression: string;
  mib: number;
  seconds: number;
  MiBps: number;
}

/**
 * Delivery capacity alone: up to 120 MiB are staged under hints that hold
 * them back (128 MiB, 900 s), then UpdateDestination sets IntervalInSeconds
 * to 0 and the backlog is delivered as one object; timed from the update to
 * the checkpoint reaching the end.
 */
async function drain(c: FirehoseHttp, dataDir: string, compression: string, bodies: Buffer[], batches: number): Promise<DrainResult> {
  const name = `drain-${compression.toLowerCase()}`;
  await createActive(c, name, compression, 128, 900);
  batches = Math.min(batches, Math.floor((120 * 1024 * 1024) / (settings.batchRecords * settings.recordBytes)));
  const named = bodies.map((b) => Buffer.from(b.toString('utf8').replace('"DeliveryStreamName":"X"', `"DeliveryStreamName":"${name}"`)));
  let next = 0;
  const worker = async () => {
    while (next < batches) {
      const r = await c.send('PutRecordBatch', named[next++ % named.length]!);
      if (r.status !== 200) throw new Error(`PutRecordBatch answered ${r.status}: ${r.body.slice(0, 200)}`);
    }
  };
  await Promise.all(Array.from({ length: settings.concurrency }, worker));
  const records = batches * settings.batchRecords;
  const t0 = performance.now();
  await c.call('UpdateDestination', { DeliveryStreamName: name, CurrentDeliveryStreamVersionId: '1', DestinationId: 'destinationId-000000000001', ExtendedS3DestinationUpdate: { BufferingHints: { IntervalInSeconds: 0 } } });
  const deadline = Date.now() + settings.deliverTimeoutMs;
  while (deliveredRecords(dataDir, name) < records) {
    if (Date.now() > deadline) throw new Error(`${name}: drain timed out`);
    await new Promise((r) => setTimeout(r, 5));
  }
  const seconds = (performance.now() - t0) / 1000;
  const mib = (records * settings.recordBytes) / 1024 / 1024;
  return { compression, mib, seconds, MiBps: mib / seconds };
}

/** `gzip -6` on the same bytes, from a file in the page cache to /dev/null. */
function gzipSpeed(bodies: Buffer[], mib: number, dir: string): { mib: number; seconds: number; MiBps: number } {
  const recs = bodies.map((b) => Buffer.concat((JSON.parse(b.toString('utf8')) as { Records: Array<{ Data: string }> }).Records.map((r) => Buffer.from(r.Data, 'base64'))));
  const file = path.join(dir, 'gzip-input');
  const fd = fs.openSync(file, 'w');
  let written = 0;
  for (let i = 0; written < mib * 1024 * 1024; i++) written += fs.writeSync(fd, recs[i % recs.length]!);
  fs.closeSync(fd);
  spawnSync('cat', [file], { stdio: ['ignore', 'ignore', 'ignore'] }); // warm the page cache
  const t0 = performance.now();
  const r = spawnSync('sh', ['-c', `gzip -6 -c '${file}' > /dev/null`]);
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`gzip failed: ${r.stderr}`);
  fs.rmSync(file);
  return { mib: written / 1024 / 1024, seconds, MiBps: written / 1024 / 1024 / seconds };
}

/** A steady trickle; each object's oldest record carries its send time, compared with the object's mtime. */
async function freshness(c: FirehoseHttp, dataDir: string, intervalS: number, phaseMs: number): Promise<{ intervalS: number; objects: number; ageMsMin: number; ageMsMedian: number; ageMsMax: number }> {
  const name = 'freshness';
  await createActive(c, name, 'UNCOMPRESSED', 128, intervalS);
  let seq = 0;
  const t0 = Date.now();
  while (Date.now() - t0 < phaseMs) {
    const recs = Array.from({ length: settings.freshnessBatchRecords }, () => record(seq++, Date.now()));
    await c.call('PutRecordBatch', { DeliveryStreamName: name, Records: recs.map((r) => ({ Data: r.toString('base64') })) });
    await new Promise((r) => setTimeout(r, settings.freshnessBatchEveryMs));
  }
  const deadline = Date.now() + intervalS * 1000 + 10_000;
  while (deliveredRecords(dataDir, name) < seq && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const ages: number[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (!e.name.startsWith('.')) {
        const first = fs.readFileSync(p, 'utf8').split('\n', 1)[0]!;
        ages.push(fs.statSync(p).mtimeMs - (JSON.parse(first) as { ts: number }).ts);
      }
    }
  };
  walk(path.join(dataDir, 'firehose-buckets', name));
  ages.sort((a, b) => a - b);
  return { intervalS, objects: ages.length, ageMsMin: Math.round(ages[0] ?? NaN), ageMsMedian: Math.round(ages[ages.length >> 1] ?? NaN), ageMsMax: Math.round(ages.at(-1) ?? NaN) };
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { quick: { type: 'boolean', default: false }, mib: { type: 'string' }, interval: { type: 'string' }, fsync: { type: 'string', default: 'always' }, profile: { type: 'boolean', default: false } } });
  const mib = values.mib ? Number(values.mib) : values.quick ? settings.mibQuick : settings.mibFull;
  const intervalS = values.interval ? Number(values.interval) : settings.freshnessIntervalSDefault;
  installCleanupHooks();
  const dir = tempDir('trb-bench-firehose-');
  // Other work on the machine skews every number: the load averages go in the results.
  const loadBefore = os.loadavg()[0]!;
  const port = await sparePort();
  let server: ServerProcess | undefined;
  try {
    const profileDir = values.profile ? tempDir('trb-bench-firehose-profile-') : undefined;
    server = spawnServer('tributary', [...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), '--import', 'tsx', 'bin/tributary.ts', 'gateway', 'start', '--data', dir, '--port', String(port), '--insecure-http', '--log-level', 'warn', '--fsync', values.fsync!], { port, cwd: root });
    await waitReady(server, { path: '/health', statusOk: 200, timeoutMs: settings.readyTimeoutMs });
    const c = new FirehoseHttp(port, await operatorCredentials(dir), settings.concurrency);
    let seq = 0;
    const bodies = Array.from({ length: settings.bodiesDistinct }, () => batchBody('X', Array.from({ length: settings.batchRecords }, () => record(seq++, Date.now()))));
    const batches = Math.ceil((mib * 1024 * 1024) / (settings.batchRecords * settings.recordBytes));
    if (profileDir) {
      const r = await throughput(c, dir, 'UNCOMPRESSED', bodies, batches);
      c.agent.destroy();
      await server.stop('SIGINT');
      const file = fs.readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'));
      if (!file) throw new Error(`no profile in ${profileDir}: ${server.outputTail()}`);
      const summary = summarizeCpuProfile(JSON.parse(fs.readFileSync(path.join(profileDir, file), 'utf8')) as CpuProfile, { top: 25, root });
      process.stdout.write(`UNCOMPRESSED ingest ${r.ingestMiBps.toFixed(1)} MiB/s, delivered ${r.deliveredMiBps.toFixed(1)} MiB/s\n`);
      for (const t of summary.top) process.stdout.write(`${t.percent.toFixed(1).padStart(5)}%  ${JSON.stringify(t)}\n`);
      removeTempDir(profileDir);
      return;
    }
    const gzip = gzipSpeed(bodies, Math.min(mib, 256), dir);
    const uncompressed = await throughput(c, dir, 'UNCOMPRESSED', bodies, batches);
    const gz = await throughput(c, dir, 'GZIP', bodies, batches);
    const drainUncompressed = await drain(c, dir, 'UNCOMPRESSED', bodies, batches);
    const drainGzip = await drain(c, dir, 'GZIP', bodies, batches);
    const fresh = await freshness(c, dir, intervalS, values.quick ? settings.freshnessPhaseMsQuick : settings.freshnessPhaseMsFull);
    const result = {
      bench: 'firehose', at: new Date().toISOString(), host: { cpus: os.availableParallelism(), node: process.version, loadavg1Before: loadBefore, loadavg1After: os.loadavg()[0] },
      settings: { fsync: values.fsync, recordBytes: settings.recordBytes, batchRecords: settings.batchRecords, concurrency: settings.concurrency, bufferMiB: settings.throughputBufferMiB, mib },
      uncompressed, gzip: gz, gzipCli: gzip, gzipVsCliPct: Math.round((gz.deliveredMiBps / gzip.MiBps) * 100),
      drain: { uncompressed: drainUncompressed, gzip: drainGzip }, freshness: fresh,
      gatewayPeakRssMB: server.peakRssMB(),
    };
    process.stdout.write(JSON.stringify(result) + '\n');
    const f = (n: number) => n.toFixed(1).padStart(8);
    process.stdout.write([
      '',
      'phase          ingest MiB/s  delivered MiB/s  objects  object MiB',
      `UNCOMPRESSED   ${f(uncompressed.ingestMiBps)}      ${f(uncompressed.deliveredMiBps)}       ${String(uncompressed.objects).padStart(6)}  ${f(uncompressed.objectMiB)}`,
      `GZIP           ${f(gz.ingestMiBps)}      ${f(gz.deliveredMiBps)}       ${String(gz.objects).padStart(6)}  ${f(gz.objectMiB)}`,
      `gzip -6 (CLI)  ${f(gzip.MiBps)} MiB/s on ${gzip.mib.toFixed(0)} MiB; GZIP delivery at ${result.gzipVsCliPct}% of it (target >= 80%)`,
      `uncompressed delivery ${uncompressed.deliveredMiBps >= 150 ? 'meets' : 'misses'} the 150 MiB/s target`,
      `delivery alone (a staged backlog drained): UNCOMPRESSED ${drainUncompressed.MiBps.toFixed(1)} MiB/s, GZIP ${drainGzip.MiBps.toFixed(1)} MiB/s (${Math.round((drainGzip.MiBps / gzip.MiBps) * 100)}% of gzip -6)`,
      `machine load average (1 min) ${loadBefore.toFixed(2)} before, ${os.loadavg()[0]!.toFixed(2)} after, on ${os.availableParallelism()} CPUs`,
      `freshness (interval ${fresh.intervalS} s): oldest-record age at delivery min ${fresh.ageMsMin} ms, median ${fresh.ageMsMedian} ms, max ${fresh.ageMsMax} ms over ${fresh.objects} objects`,
      '',
    ].join('\n'));
    fs.mkdirSync(resultsDir, { recursive: true });
    fs.writeFileSync(path.join(resultsDir, 'firehose-latest.json'), JSON.stringify(result, null, 2) + '\n');
    c.agent.destroy();
  } finally {
    await server?.stop();
    removeTempDir(dir);
    cleanupSync();
  }
}
