/**
 * SigV4 verification cost, in process: `verifySigV4` from gateway/http/auth.ts
 * on PutRecords bodies built like the streams benchmark's (500 records of
 * 1 KiB and of 100 B, random data and partition keys) and on single 100 B
 * PutRecord bodies, signed like the streams benchmark signs them, next to
 * `JSON.parse(body.toString())` of the same bodies. Prints one JSON line and a
 * table; writes the JSON to bench/results/sigv4-latest.json.
 *
 *   npm run bench -- sigv4 [--quick] [--iterations N]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { formatSigV4Table, measureSigV4, type SigV4Case } from './lib/sigv4-cost.ts';
import { putRecordBodies, putRecordsBodies } from './lib/streams-load.ts';

export const description = 'SigV4: verifySigV4 µs per signed PutRecords request and per record, next to JSON.parse of the same body (in process)';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const resultsDir = path.join(root, 'bench', 'results');

export const sigv4Settings = Object.freeze({
  streamName: 'bench',
  batchRecords: 500,
  recordBytesSmall: 100,
  recordBytesLarge: 1024,
  /** Distinct bodies per case, cycled through (as in the streams benchmark). */
  bodiesDistinct: 8,
  /** Per PutRecords case; the PutRecord case runs ten times as many. */
  iterationsFull: 4000,
  iterationsQuick: 500,
  rounds: 10,
  warmup: 200,
});

/** The request bodies of the streams benchmark, built the same way. */
export function sigv4Cases(bodies: { large: Buffer[]; small: Buffer[]; single: Buffer[] }, batchRecords: number): SigV4Case[] {
  return [
    { name: 'PutRecords 500 x 1 KiB', action: 'PutRecords', bodies: bodies.large, recordsPerRequest: batchRecords },
    { name: 'PutRecords 500 x 100 B', action: 'PutRecords', bodies: bodies.small, recordsPerRequest: batchRecords },
    // About 12 µs a call, so ten times the calls for a steady number at little cost.
    { name: 'PutRecord 100 B', action: 'PutRecord', bodies: bodies.single, recordsPerRequest: 1, iterationsScale: 10 },
  ];
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { quick: { type: 'boolean', default: false }, iterations: { type: 'string' } }, strict: true });
  const iterations = values.iterations !== undefined ? Number(values.iterations) : values.quick ? sigv4Settings.iterationsQuick : sigv4Settings.iterationsFull;
  if (!Number.isInteger(iterations) || iterations < sigv4Settings.rounds) throw new Error(`--iterations: a whole number of at least ${sigv4Settings.rounds} expected`);
  const s = sigv4Settings;
  const started = Date.now();
  const loadAverage1mAtStart = Number(os.loadavg()[0]!.toFixed(2));
  const cases = sigv4Cases(
    {
      large: putRecordsBodies(s.streamName, { count: s.bodiesDistinct, records: s.batchRecords, recordBytes: s.recordBytesLarge }).map((b) => b.body),
      small: putRecordsBodies(s.streamName, { count: s.bodiesDistinct, records: s.batchRecords, recordBytes: s.recordBytesSmall }).map((b) => b.body),
      single: putRecordBodies(s.streamName, { count: 64, recordBytes: s.recordBytesSmall }),
    },
    s.batchRecords,
  );
  process.stderr.write(`timing verifySigV4 and JSON.parse, ${iterations} iterations per case in ${s.rounds} rounds (load average ${loadAverage1mAtStart})\n`);
  const results = measureSigV4(cases, { iterations, rounds: s.rounds, warmup: s.warmup });
  const cpus = os.cpus();
  const doc = {
    benchmark: 'sigv4',
    startedAt: new Date(started).toISOString(),
    wallS: (Date.now() - started) / 1000,
    machine: { cpus: cpus.length, cpuModel: cpus[0]?.model ?? 'unknown', node: process.version, loadAverage1mAtStart },
    settings: { ...s, iterations, method: 'median over rounds of the mean per call; verifySigV4 as the gateway guard calls it (service kinesis, allowUnsignedPayload false), JSON.parse(body.toString()) of the same bodies' },
    results,
  };
  fs.mkdirSync(resultsDir, { recursive: true });
  fs.writeFileSync(path.join(resultsDir, 'sigv4-latest.json'), JSON.stringify(doc, null, 2) + '\n');
  process.stdout.write(JSON.stringify(doc) + '\n\n');
  process.stdout.write(formatSigV4Table(results) + '\n');
  process.stderr.write(`results written to bench/results/sigv4-latest.json (${doc.wallS.toFixed(0)} s)\n`);
}
