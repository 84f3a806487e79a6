// The idempotency table on its own: it remembers each producer's last batch
// only, compacts its log to the live entries, forgets entries past the
// window, and reloads what it remembered.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { IdempotencyTable, parseIdempotencyKey, type PutRecordsAnswer, type PutTrace } from '../../gateway/streams/idempotency.ts';
import type { StreamRuntime } from '../../gateway/streams/model.ts';
import { tempDir } from '../helpers/gateway.ts';

/** A stream runtime with one shard whose sequence numbers are `<counter>@<ms>`. */
const rt = {
  meta: { name: 's', dir: 's-1' },
  shards: [{ id: 'shardId-000000000000', sequenceNumber: (c: number, ms: number) => `${c}@${ms}`, log: { nextCounter: 1e12 } }],
} as unknown as StreamRuntime;

function exec(n: number, counter: { next: number }) {
  return async (trace: PutTrace): Promise<PutRecordsAnswer> => {
    const first = counter.next;
    counter.next += n;
    trace.groups.push({ shardId: 'shardId-000000000000', firstCounter: first, count: n, arrivalMs: 1000 });
    trace.slots = new Int32Array(n);
    return { FailedRecordCount: 0, EncryptionType: 'NONE', Records: Array.from({ length: n }, (_, k) => ({ ShardId: 'shardId-000000000000', SequenceNumber: `${first + k}@1000` })) };
  };
}

describe('IdempotencyTable', () => {
  it('keeps one entry per producer, compacts its log, and reloads the live entries', async () => {
    const dir = tempDir('trb-idem-unit-');
    let now = 0;
    const open = () => IdempotencyTable.open(dir, { windowMs: 60_000, fsync: { kind: 'never' }, now: () => now, stream: () => rt, compactBytesMin: 64 * 1024 });
    const t = await open();
    const counter = { next: 0 };
    for (let batch = 1; batch <= 400; batch++) {
      for (const p of ['a', 'b', 'c']) await t.run('caller', rt, parseIdempotencyKey(`${p}/${batch}`), batch, exec(50, counter));
    }
    expect(t.size).toBe(3);
    // 1,200 lines of ~300 bytes were written; compaction keeps the log near the 3 live ones.
    expect(t.logFileBytes).toBeLessThan(128 * 1024);
    const before = counter.next;
    const replay = await t.run('caller', rt, parseIdempotencyKey('b/400'), 400, exec(50, counter));
    expect(counter.next).toBe(before);
    expect(replay.Records[0]).toEqual({ ShardId: 'shardId-000000000000', SequenceNumber: `${before - 100}@1000` });
    await t.close();

    const t2 = await open();
    expect(t2.size).toBe(3);
    const again = await t2.run('caller', rt, parseIdempotencyKey('b/400'), 400, exec(50, counter));
    expect(again).toEqual(replay);
    // Past the window, the entry is forgotten: the batch runs again.
    now += 60_001;
    t2.expire();
    expect(t2.size).toBe(0);
    await t2.run('caller', rt, parseIdempotencyKey('b/400'), 400, exec(50, counter));
    expect(counter.next).toBe(before + 50);
    await t2.close();
    expect(fs.statSync(path.join(dir, 'idempotency.log')).size).toBeLessThan(4096);
  });
});
