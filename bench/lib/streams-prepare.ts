/**
 * `npm run bench -- streams --prepare`: the offload worker's share of a
 * PutRecords request (parse, SigV4, shape check, base64, hash keys), timed in
 * this process on the streams benchmark's own bodies, for the scanner path the
 * gateway takes and for the general path (JSON.parse and validateInput) it
 * falls back to. The variants take turns in rounds, so that a change in
 * machine load hits all of them alike, and each figure is CPU time (user +
 * system) per record, which other work on the machine moves less than
 * elapsed time. Also: the partition key MD5, ours against node:crypto's
 * one-shot `hash`.
 */
import crypto from 'node:crypto';
import { preparePutRecords, type OffloadJob } from '../../gateway/http/offload.ts';
import { prepareOffloaded, type OffloadKind } from '../../gateway/http/offload-kinds.ts';
import { putRecordBatch } from '../../gateway/firehose/actions/put-record-batch.ts';
import { md5Into } from '../../gateway/http/md5.ts';
import { putRecords } from '../../gateway/streams/actions/put-records.ts';
import { signRequest } from '../../sdk/protocol/sigv4.ts';
import type { PutBatch } from './streams-load.ts';

export interface PrepareFigure {
  name: string;
  /** Median over the rounds of CPU µs per record, and the range. */
  medianUs: number;
  minUs: number;
  maxUs: number;
}

function jobOf(body: Buffer, now: number, kind: OffloadKind = 'kinesis.PutRecords'): OffloadJob {
  const url = new URL('http://127.0.0.1:4567/');
  const firehose = kind === 'firehose.PutRecordBatch';
  const service = firehose ? 'firehose' : 'kinesis';
  const signed = signRequest({
    method: 'POST', url, headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': firehose ? 'Firehose_20150804.PutRecordBatch' : 'Kinesis_20131202.PutRecords' }, body,
    accessKeyId: 'AKIDBENCH', secretAccessKey: 'bench-secret', region: 'us-east-1', service, now,
  });
  const headers: Record<string, string> = { host: url.host, 'content-length': String(body.length) };
  for (const [k, v] of Object.entries(signed)) headers[k.toLowerCase()] = v;
  return { method: 'POST', url: '/', headers, body, accessKeyId: 'AKIDBENCH', secret: 'bench-secret', service, region: 'us-east-1', now, kind };
}

/** Times `variants` (each a function over all records once, returning how many it handled) in `rounds` turns. */
function timeVariants(variants: Array<[string, () => number]>, rounds: number, repeats: number): PrepareFigure[] {
  for (const [, f] of variants) for (let i = 0; i < 3; i++) f();
  const samples = new Map<string, number[]>();
  for (let r = 0; r < rounds; r++) {
    for (const [name, f] of variants) {
      const t = process.cpuUsage();
      let records = 0;
      for (let i = 0; i < repeats; i++) records += f();
      const u = process.cpuUsage(t);
      (samples.get(name) ?? samples.set(name, []).get(name)!).push((u.user + u.system) / records);
    }
  }
  return variants.map(([name]) => {
    const v = samples.get(name)!.sort((a, b) => a - b);
    return { name, medianUs: v[Math.floor((v.length - 1) / 2)]!, minUs: v[0]!, maxUs: v.at(-1)! };
  });
}

export function measurePrepare(bodies: { small: PutBatch[]; large: PutBatch[] }, options: { rounds: number; repeats: number }): PrepareFigure[] {
  const now = Date.now();
  const out: PrepareFigure[] = [];
  for (const [label, batches] of [['100 B', bodies.small], ['1 KiB', bodies.large]] as const) {
    const jobs = batches.map((b) => jobOf(b.body, now));
    const run = (scan: boolean) => () => {
      let n = 0;
      for (const job of jobs) {
        const r = preparePutRecords(job, putRecords.shape, { scan });
        if (!r.ok) throw new Error(`the benchmark's own body was refused: ${r.type} ${r.message ?? ''}`);
        n += (r.value as { count: number }).count;
      }
      return n;
    };
    out.push(...timeVariants([[`PutRecords 500 x ${label}, scanner`, run(true)], [`PutRecords 500 x ${label}, JSON.parse + validateInput`, run(false)]], options.rounds, options.repeats));
  }
  // Firehose PutRecordBatch of the same 1 KiB records (the firehose benchmark's record size), without partition keys.
  const firehoseJobs = bodies.large.map((b) => {
    const records = (JSON.parse(b.body.toString('utf8')) as { Records: Array<{ Data: string }> }).Records.map((r) => ({ Data: r.Data }));
    return jobOf(Buffer.from(JSON.stringify({ DeliveryStreamName: 'bench', Records: records })), now, 'firehose.PutRecordBatch');
  });
  const batch = (scan: boolean) => () => {
    let n = 0;
    for (const job of firehoseJobs) {
      const r = prepareOffloaded(job, putRecordBatch.shape, { scan });
      if (!r.ok) throw new Error(`the benchmark's own body was refused: ${r.type} ${r.message ?? ''}`);
      n += (r.value as { offsets: Int32Array }).offsets.length - 1;
    }
    return n;
  };
  out.push(...timeVariants([['PutRecordBatch 500 x 1 KiB, scanner', batch(true)], ['PutRecordBatch 500 x 1 KiB, JSON.parse + validateInput', batch(false)]], options.rounds, options.repeats));
  // The partition keys of the benchmark's bodies: 16 hex digits each.
  const keys = Buffer.from(Array.from({ length: 500 }, () => crypto.randomBytes(8).toString('hex')).join(''));
  const hashKeys = Buffer.alloc(16 * 500);
  const oneShot = (crypto as unknown as { hash: (alg: string, data: Uint8Array, enc: 'buffer') => Buffer }).hash;
  out.push(...timeVariants([
    ['MD5 of a 16-byte partition key, md5Into', () => {
      for (let i = 0; i < 500; i++) md5Into(keys, 16 * i, 16 * i + 16, hashKeys, 16 * i);
      return 500;
    }],
    ['MD5 of a 16-byte partition key, crypto.hash', () => {
      for (let i = 0; i < 500; i++) oneShot('md5', keys.subarray(16 * i, 16 * i + 16), 'buffer').copy(hashKeys, 16 * i);
      return 500;
    }],
  ], options.rounds, options.repeats * 8));
  return out;
}

export function formatPrepare(figures: PrepareFigure[], rounds: number): string {
  const w = Math.max(...figures.map((f) => f.name.length));
  const lines = [`CPU µs per record, median of ${rounds} rounds (range), variants taking turns in each round:`];
  for (const f of figures) lines.push(`  ${f.name.padEnd(w)}  ${f.medianUs.toFixed(2).padStart(6)}  (${f.minUs.toFixed(2)}-${f.maxUs.toFixed(2)})`);
  return lines.join('\n');
}
