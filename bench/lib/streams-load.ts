/**
 * The Data Streams load phases: closed-loop PutRecords throughput, GetRecords
 * read-back, and open-loop PutRecord latency. Request bodies are built once,
 * before any clock starts; responses are scanned rather than parsed where the
 * scan has been checked against a full parse first.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { describeFailure, KinesisHttp, percentile, type Endpoint, type Reply } from './kinesis-http.ts';

const mib = 1024 * 1024;
/** Distinct error texts kept per phase for the report. */
const errorSamplesMax = 5;

export interface PutBatch {
  body: Buffer;
  records: number;
  recordBytes: number;
}

/** `count` distinct PutRecords bodies of `records` random records each, with random partition keys. */
export function putRecordsBodies(streamName: string, options: { count: number; records: number; recordBytes: number }): PutBatch[] {
  const batches: PutBatch[] = [];
  for (let b = 0; b < options.count; b++) {
    const records = [];
    for (let i = 0; i < options.records; i++) {
      records.push({ Data: randomBytes(options.recordBytes).toString('base64'), PartitionKey: randomBytes(8).toString('hex') });
    }
    batches.push({ body: Buffer.from(JSON.stringify({ StreamName: streamName, Records: records })), records: options.records, recordBytes: options.recordBytes });
  }
  return batches;
}

/** `count` distinct PutRecord bodies. */
export function putRecordBodies(streamName: string, options: { count: number; recordBytes: number }): Buffer[] {
  const bodies: Buffer[] = [];
  for (let b = 0; b < options.count; b++) {
    const input = { StreamName: streamName, Data: randomBytes(options.recordBytes).toString('base64'), PartitionKey: randomBytes(8).toString('hex') };
    bodies.push(Buffer.from(JSON.stringify(input)));
  }
  return bodies;
}

class ErrorSamples {
  readonly texts: string[] = [];
  add(text: string): void {
    if (this.texts.length < errorSamplesMax && !this.texts.includes(text)) this.texts.push(text);
  }
}

export interface PutThroughputResult {
  durationS: number;
  requests: number;
  /** Non-200 answers and transport errors. */
  requestsFailed: number;
  /** Records acknowledged with a sequence number. */
  records: number;
  /** Records in failed requests plus FailedRecordCount of successful ones. */
  recordsFailed: number;
  recordsPerS: number;
  /** Payload (decoded Data) bytes acknowledged per second, in MiB. */
  mibPerS: number;
  errors: string[];
}

const failedCountKey = Buffer.from('"FailedRecordCount":');

/** FailedRecordCount from a PutRecords answer without parsing the whole body. */
export function scanFailedRecordCount(body: Buffer): number | undefined {
  const at = body.indexOf(failedCountKey);
  if (at < 0) return undefined;
  const m = /^\s*(\d+)/.exec(body.toString('latin1', at + failedCountKey.length, at + failedCountKey.length + 16));
  return m ? Number(m[1]) : undefined;
}

/**
 * `concurrency` workers each keep one PutRecords request in flight until
 * `durationMs` has passed; the rate counts from the first send to the last
 * answer. The first successful answer is parsed whole to check its shape.
 */
export async function putThroughput(endpoint: Endpoint, batches: PutBatch[], options: { durationMs: number; concurrency: number; alive: () => boolean }): Promise<PutThroughputResult> {
  const client = new KinesisHttp(endpoint, { socketsMax: options.concurrency });
  const errors = new ErrorSamples();
  let requests = 0, requestsFailed = 0, records = 0, recordsFailed = 0, payloadBytes = 0, next = 0;
  let shapeChecked = false;
  const started = performance.now();
  const deadline = started + options.durationMs;
  const worker = async () => {
    while (performance.now() < deadline) {
      const batch = batches[next++ % batches.length]!;
      let reply: Reply;
      try {
        reply = await client.send('PutRecords', batch.body);
      } catch (err) {
        requests++;
        requestsFailed++;
        recordsFailed += batch.records;
        errors.add(`PutRecords: ${describeFailure(err as Error)}`);
        if (!options.alive()) return;
        continue;
      }
      requests++;
      const failed = reply.status === 200 ? scanFailedRecordCount(reply.body) : undefined;
      if (failed === undefined) {
        requestsFailed++;
        recordsFailed += batch.records;
        errors.add(`PutRecords: ${describeFailure(reply)}`);
        continue;
      }
      if (!shapeChecked) {
        shapeChecked = true;
        checkPutRecordsAnswer(reply.body, batch.records, failed);
      }
      if (failed > 0) noteFailedRecords(reply.body, errors);
      records += batch.records - failed;
      recordsFailed += failed;
      payloadBytes += (batch.records - failed) * batch.recordBytes;
    }
  };
  try {
    await Promise.all(Array.from({ length: options.concurrency }, worker));
  } finally {
    client.close();
  }
  const durationS = (performance.now() - started) / 1000;
  return { durationS, requests, requestsFailed, records, recordsFailed, recordsPerS: records / durationS, mibPerS: payloadBytes / mib / durationS, errors: errors.texts };
}

function checkPutRecordsAnswer(body: Buffer, records: number, failed: number): void {
  const answer = JSON.parse(body.toString('utf8')) as { FailedRecordCount: number; Records: Array<{ SequenceNumber?: string; ShardId?: string; ErrorCode?: string }> };
  assert.equal(answer.FailedRecordCount, failed, 'scanned FailedRecordCount differs from the parsed one');
  assert.equal(answer.Records.length, records, 'PutRecords answered a different number of records than were sent');
  for (const r of answer.Records) assert.ok(r.ErrorCode ?? (r.SequenceNumber && r.ShardId), `PutRecords result entry without SequenceNumber/ShardId: ${JSON.stringify(r)}`);
}

function noteFailedRecords(body: Buffer, errors: ErrorSamples): void {
  if (errors.texts.length >= errorSamplesMax) return;
  const answer = JSON.parse(body.toString('utf8')) as { Records: Array<{ ErrorCode?: string; ErrorMessage?: string }> };
  const failed = answer.Records.find((r) => r.ErrorCode);
  if (failed) errors.add(`PutRecords record failed: ${failed.ErrorCode}: ${failed.ErrorMessage}`);
}

export interface ReadBackResult {
  durationS: number;
  calls: number;
  records: number;
  recordsPerS: number;
  mibPerS: number;
  /** Every shard reached a 0-record answer with MillisBehindLatest 0 before the deadline. */
  complete: boolean;
  errors: string[];
}

export interface GetRecordsScan {
  records: number;
  dataBytes: number;
  nextShardIterator: string | undefined;
  millisBehindLatest: number | undefined;
}

const dataKey = Buffer.from('"Data":"');
const nextIteratorKey = Buffer.from('"NextShardIterator":"');
const millisBehindKey = Buffer.from('"MillisBehindLatest":');

/** Record count, decoded Data bytes, next iterator and lag of a GetRecords JSON answer, by scanning. */
export function scanGetRecords(body: Buffer): GetRecordsScan {
  let records = 0, dataBytes = 0, at = 0;
  for (;;) {
    at = body.indexOf(dataKey, at);
    if (at < 0) break;
    const start = at + dataKey.length;
    const end = body.indexOf(0x22, start);
    const len = end - start;
    const padding = (body[end - 1] === 0x3d ? 1 : 0) + (body[end - 2] === 0x3d ? 1 : 0);
    dataBytes += (len / 4) * 3 - padding;
    records++;
    at = end;
  }
  let nextShardIterator: string | undefined;
  const it = body.indexOf(nextIteratorKey);
  if (it >= 0) {
    const start = it + nextIteratorKey.length;
    nextShardIterator = body.toString('latin1', start, body.indexOf(0x22, start));
  }
  const mb = body.indexOf(millisBehindKey);
  const m = mb < 0 ? null : /^\s*(\d+)/.exec(body.toString('latin1', mb + millisBehindKey.length, mb + millisBehindKey.length + 24));
  return { records, dataBytes, nextShardIterator, millisBehindLatest: m ? Number(m[1]) : undefined };
}

/** Checks the scanner against JSON.parse on a real answer from this server, before anything is timed. */
async function checkScanner(client: KinesisHttp, streamName: string, shardId: string): Promise<void> {
  const { ShardIterator } = await client.call<{ ShardIterator: string }>('GetShardIterator', { StreamName: streamName, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' });
  const reply = await client.send('GetRecords', Buffer.from(JSON.stringify({ ShardIterator, Limit: 100 })));
  if (reply.status !== 200) throw new Error(`GetRecords: ${describeFailure(reply)}`);
  const parsed = JSON.parse(reply.body.toString('utf8')) as { Records: Array<{ Data: string }>; NextShardIterator?: string; MillisBehindLatest?: number };
  const scan = scanGetRecords(reply.body);
  assert.equal(scan.records, parsed.Records.length, 'GetRecords scan: record count');
  assert.equal(scan.dataBytes, parsed.Records.reduce((n, r) => n + Buffer.from(r.Data, 'base64').length, 0), 'GetRecords scan: data bytes');
  assert.equal(scan.nextShardIterator, parsed.NextShardIterator, 'GetRecords scan: NextShardIterator');
  assert.equal(scan.millisBehindLatest, parsed.MillisBehindLatest, 'GetRecords scan: MillisBehindLatest');
  assert.ok(scan.records > 0, 'GetRecords scan: shard 0 is empty, nothing to check against');
}

/**
 * Reads every shard from TRIM_HORIZON, one reader per shard, following
 * NextShardIterator until an answer has 0 records and MillisBehindLatest 0.
 */
export async function readBack(endpoint: Endpoint, streamName: string, options: { limit: number; timeoutMs: number; alive: () => boolean }): Promise<ReadBackResult> {
  const setup = new KinesisHttp(endpoint, { socketsMax: 1 });
  let shardIds: string[];
  try {
    const { Shards } = await setup.call<{ Shards: Array<{ ShardId: string }> }>('ListShards', { StreamName: streamName });
    shardIds = Shards.map((s) => s.ShardId);
    await checkScanner(setup, streamName, shardIds[0]!);
  } finally {
    setup.close();
  }
  const client = new KinesisHttp(endpoint, { socketsMax: shardIds.length });
  const errors = new ErrorSamples();
  let calls = 0, records = 0, dataBytes = 0, complete = true;
  const started = performance.now();
  const deadline = started + options.timeoutMs;
  const reader = async (shardId: string) => {
    const r = await client.call<{ ShardIterator: string }>('GetShardIterator', { StreamName: streamName, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' });
    let iterator: string | undefined = r.ShardIterator;
    while (iterator) {
      if (performance.now() > deadline || !options.alive()) return void (complete = false);
      let reply: Reply;
      try {
        reply = await client.send('GetRecords', Buffer.from(`{"ShardIterator":"${iterator}","Limit":${options.limit}}`));
      } catch (err) {
        errors.add(`GetRecords ${shardId}: ${describeFailure(err as Error)}`);
        return void (complete = false);
      }
      calls++;
      if (reply.status !== 200) {
        errors.add(`GetRecords ${shardId}: ${describeFailure(reply)}`);
        return void (complete = false);
      }
      const scan = scanGetRecords(reply.body);
      records += scan.records;
      dataBytes += scan.dataBytes;
      if (scan.records === 0 && scan.millisBehindLatest === 0) return;
      iterator = scan.nextShardIterator;
    }
  };
  try {
    await Promise.all(shardIds.map(reader));
  } finally {
    client.close();
  }
  const durationS = (performance.now() - started) / 1000;
  return { durationS, calls, records, recordsPerS: records / durationS, mibPerS: dataBytes / mib / durationS, complete, errors: errors.texts };
}

export interface LatencyResult {
  sent: number;
  ok: number;
  failed: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Successful answers per second, from the first scheduled send to the last answer. */
  achievedPerS: number;
  /** How late the timer fired sends relative to their schedule (client-side delay, not in the latencies). */
  scheduleLagP99Ms: number;
  scheduleLagMaxMs: number;
  errors: string[];
}

/**
 * Open loop: send i is due at start + i/rate, whether or not earlier sends
 * have been answered, so a slow server cannot slow the offered load down.
 * A timer wakes about every millisecond and sends everything that is due.
 * Latency runs from the send call to the end of the answer.
 */
export function putRecordLatency(endpoint: Endpoint, bodies: Buffer[], options: { ratePerS: number; durationMs: number; socketsMax: number; alive: () => boolean }): Promise<LatencyResult> {
  const client = new KinesisHttp(endpoint, { socketsMax: options.socketsMax });
  const total = Math.round((options.durationMs * options.ratePerS) / 1000);
  const spacingMs = 1000 / options.ratePerS;
  const latencies = new Float64Array(total);
  const lags = new Float64Array(total);
  const errors = new ErrorSamples();
  let sent = 0, ok = 0, failed = 0, lastAnswer = 0, finished = false;
  const started = performance.now();
  return new Promise((resolve) => {
    const finish = () => {
      if (finished) return;
      finished = true;
      client.close();
      const lat = latencies.slice(0, ok).sort();
      const lag = lags.slice(0, sent).sort();
      resolve({
        sent, ok, failed,
        p50Ms: percentile(lat, 50), p99Ms: percentile(lat, 99), maxMs: lat.length ? lat[lat.length - 1]! : NaN,
        achievedPerS: ok / ((lastAnswer - started) / 1000),
        scheduleLagP99Ms: percentile(lag, 99), scheduleLagMaxMs: lag.length ? lag[lag.length - 1]! : NaN,
        errors: errors.texts,
      });
    };
    const answered = () => {
      lastAnswer = performance.now();
      if (ok + failed === sent && (sent === total || !options.alive())) finish();
    };
    const fire = (i: number) => {
      const t0 = performance.now();
      lags[i] = t0 - (started + i * spacingMs);
      client.send('PutRecord', bodies[i % bodies.length]!).then(
        (reply) => {
          if (reply.status === 200) latencies[ok++] = performance.now() - t0;
          else {
            failed++;
            errors.add(`PutRecord: ${describeFailure(reply)}`);
          }
          answered();
        },
        (err: Error) => {
          failed++;
          errors.add(`PutRecord: ${describeFailure(err)}`);
          answered();
        },
      );
    };
    const tick = () => {
      if (!options.alive()) return void (ok + failed === sent && finish());
      const due = Math.min(total, Math.floor((performance.now() - started) / spacingMs) + 1);
      while (sent < due) fire(sent++);
      if (sent < total) setTimeout(tick, Math.max(0, started + sent * spacingMs - performance.now()));
    };
    tick();
  });
}
