/**
 * Helpers for the replay tests: the `tributary` CLI as a child process (from
 * a bundle built once per test file, so that 20 crash-and-resume runs start
 * fast), an operator profile for a test gateway, and reading a whole stream
 * back with the stock SDK.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, PutRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { tempDir, testOperator } from './gateway.ts';
import { repoRoot, tributaryBundle } from './bundles.ts';

/** bin/tributary.ts as shipped (built once per test run: test/helpers/bundles.ts). */
export async function cliBundle(): Promise<string> {
  return tributaryBundle();
}

const execFileP = promisify(execFile);

export async function cli(args: string[], o: { cwd?: string; env?: Record<string, string> } = {}): Promise<{ stdout: string; stderr: string }> {
  return execFileP(process.execPath, [await cliBundle(), ...args], { cwd: o.cwd ?? repoRoot, env: { ...process.env, ...o.env }, maxBuffer: 64 * 1024 * 1024 });
}

export async function spawnCli(args: string[], o: { cwd?: string } = {}): Promise<{ child: ChildProcess; exited: Promise<number | string>; output: () => string }> {
  const child = spawn(process.execPath, [await cliBundle(), ...args], { cwd: o.cwd ?? repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  return { child, exited, output: () => out };
}

/** An operator profile file for a test gateway. */
export function profileFor(url: string): string {
  const file = path.join(tempDir('trb-profile-'), 'operator.json');
  fs.writeFileSync(file, JSON.stringify({ endpoint: url, region: 'us-east-1', ...testOperator }), { mode: 0o600 });
  return file;
}

export interface StoredRecord {
  shard: string;
  key: string;
  data: Buffer;
  seq: string;
  arrivalMs: number;
}

/** Every record of a stream, shards in ListShards order, each shard in sequence order. */
export async function readAll(c: KinesisClient, StreamName: string): Promise<StoredRecord[]> {
  const out: StoredRecord[] = [];
  const { Shards } = await c.send(new ListShardsCommand({ StreamName }));
  for (const s of Shards!) {
    let { ShardIterator } = await c.send(new GetShardIteratorCommand({ StreamName, ShardId: s.ShardId, ShardIteratorType: 'TRIM_HORIZON' }));
    while (ShardIterator) {
      const r = await c.send(new GetRecordsCommand({ ShardIterator, Limit: 10_000 }));
      for (const x of r.Records!) out.push({ shard: s.ShardId!, key: x.PartitionKey!, data: Buffer.from(x.Data!), seq: x.SequenceNumber!, arrivalMs: x.ApproximateArrivalTimestamp!.getTime() });
      if (r.Records!.length === 0 && (r.MillisBehindLatest ?? 0) === 0) break;
      ShardIterator = r.NextShardIterator;
    }
  }
  return out;
}

/** Puts records through the stock SDK, 500 at a time, failing the test on any refused record. */
export async function putAll(c: KinesisClient, StreamName: string, records: Array<{ key: string; data: Buffer }>): Promise<void> {
  for (let i = 0; i < records.length; i += 500) {
    const r = await c.send(new PutRecordsCommand({ StreamName, Records: records.slice(i, i + 500).map((x) => ({ PartitionKey: x.key, Data: x.data })) }));
    if (r.FailedRecordCount) throw new Error(`${r.FailedRecordCount} records refused: ${r.Records!.find((x) => x.ErrorCode)?.ErrorMessage}`);
  }
}

/** Per key, the data in stream order (a key lives in one shard at a time; lineage order is ListShards order here). */
export function byKey(records: Array<{ key: string; data: Buffer }>): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const r of records) {
    let l = m.get(r.key);
    if (!l) m.set(r.key, (l = []));
    l.push(r.data.toString('base64'));
  }
  return m;
}
