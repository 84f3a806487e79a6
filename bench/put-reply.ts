/**
 * PutRecords' answer for 500 records on 4 shards, in process: sequence
 * numbers written by decimal addition of the counter step (what the gateway
 * does) against formatting each one (its general path), alternating rounds,
 * µs per answer. Issue #19.
 *
 *   npm run bench -- put-reply [--quick]
 */
import { parseArgs } from 'node:util';
import { selfEncoding } from '../gateway/http/wire.ts';
import { PutRecordsReply, type ReplyShard } from '../gateway/streams/put-reply.ts';
import { formatSequenceNumberFrom, sequenceCounterStep, sequenceNumberBase } from '../sdk/protocol/streams/sequence-number.ts';

export const description = "PutRecords' answer: sequence numbers by decimal addition vs formatted one by one (in process, µs per 500-record answer)";

function shard(index: number, byAddition: boolean): ReplyShard {
  const base = sequenceNumberBase({ shardCreatedMs: 1_600_000_000_000, shardIndex: index, recordMs: 1_700_000_000_000 });
  return { id: `shardId-00000000000${index}`, ...(byAddition ? { sequenceCounterStep } : {}), sequenceNumber: (counter) => formatSequenceNumberFrom(base, counter) };
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { quick: { type: 'boolean', default: false } }, strict: true });
  const rounds = values.quick ? 4 : 12;
  const answers = values.quick ? 500 : 2000;
  // Records spread over the shards as random partition keys spread them.
  const slots = Int32Array.from({ length: 500 }, (_, i) => (i * 7919) % 4);
  const trace = () => ({
    groups: [0, 1, 2, 3].map((g) => ({ shardId: `shardId-00000000000${g}`, firstCounter: 1_234_567, count: slots.filter((s) => s === g).length, arrivalMs: 1_700_000_000_000 })),
    slots, errors: [] as Array<[string, string]>,
  });
  const results: Record<string, number[]> = { addition: [], formatting: [] };
  for (let round = 0; round < rounds; round++) {
    for (const byAddition of [true, false]) {
      const shards = [0, 1, 2, 3].map((i) => shard(i, byAddition));
      const t0 = process.hrtime.bigint();
      for (let k = 0; k < answers; k++) new PutRecordsReply(trace(), shards, 'NONE')[selfEncoding].json();
      results[byAddition ? 'addition' : 'formatting']!.push(Number(process.hrtime.bigint() - t0) / 1e3 / answers);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  for (const [name, xs] of Object.entries(results)) {
    process.stdout.write(`${name.padEnd(10)} median ${median(xs).toFixed(1)} µs per answer (${Math.min(...xs).toFixed(1)}-${Math.max(...xs).toFixed(1)} over ${rounds} rounds of ${answers})\n`);
  }
}
