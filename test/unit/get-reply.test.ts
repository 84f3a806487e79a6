// GetRecords writes its answer straight from the shard log's frames; it must
// be byte for byte what the generic encoder makes of the answer's objects
// (which CBOR clients get), for every kind of partition key and data length,
// and the frames must be the records `read` returns.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { selfEncoding, toJsonText } from '../../gateway/http/wire.ts';
import { LocalShardLog, localShardLogDefaults } from '../../gateway/storage/local/shard-log.ts';
import { GetRecordsReply } from '../../gateway/streams/get-reply.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trb-get-reply-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const shard = { sequenceNumber: (counter: number, ms: number) => `49${String(counter).padStart(30, '0')}${ms}` };

describe('GetRecordsReply', () => {
  it('encodes the same JSON as toJsonText of its records', async () => {
    const log = await LocalShardLog.open(path.join(dir, 's'), { ...localShardLogDefaults, segmentBytesMax: 8 * 1024, fsync: { kind: 'never' } });
    const keys = ['k', 'a "quoted" \\ key', 'ключ', '\u0001\u001f', '😀 emoji', 'x'.repeat(256)];
    const entries = Array.from({ length: 60 }, (_, i) => ({ partitionKey: keys[i % keys.length]!, data: Buffer.alloc(i % 7 === 0 ? 0 : (i * 37) % 1500, i), flags: 0 }));
    for (let i = 0; i < entries.length; i += 7) await log.append(entries.slice(i, i + 7)).durable;
    for (const [from, limit] of [[0, 10_000], [5, 3], [59, 10], [60, 10]] as const) {
      const options = { limit, bytesMax: 1 << 30, arrivalMsMin: 0 };
      const frames = await log.readFrames(from, options);
      const read = await log.read(from, options);
      expect(frames.count).toBe(read.records.length);
      expect(frames.nextCounter).toBe(read.nextCounter);
      for (const rest of [{ NextShardIterator: 'AAAA/+==', MillisBehindLatest: 12 }, { MillisBehindLatest: 0, ChildShards: [{ ShardId: 'shardId-000000000001', ParentShards: ['shardId-000000000000'] }] }]) {
        const reply = new GetRecordsReply(frames, shard, rest);
        const value = reply[selfEncoding].value() as { Records: Array<{ Data: Buffer; PartitionKey: string; SequenceNumber: string }> };
        expect(value.Records.map((r) => [r.PartitionKey, r.Data])).toEqual(read.records.map((r) => [r.partitionKey, r.data]));
        expect(value.Records.map((r) => r.SequenceNumber)).toEqual(read.records.map((r) => shard.sequenceNumber(r.counter, r.arrivalMs)));
        expect(reply[selfEncoding].json().toString('utf8')).toBe(toJsonText(value));
        // In pieces (issue #19): the same bytes, the announced size, and no piece past the limit unless one record is.
        for (const pieceBytesMax of [1, 700, 4000]) {
          const { size, pieces } = reply[selfEncoding].jsonPieces!(pieceBytesMax);
          const all = [...pieces];
          expect(Buffer.concat(all).toString('utf8')).toBe(toJsonText(value));
          expect(size).toBe(Buffer.concat(all).length);
          if (pieceBytesMax === 4000 && frames.count > 10) expect(all.length).toBeGreaterThan(1);
          if (pieceBytesMax === 1) expect(all.length).toBe(Math.max(1, frames.count));
        }
      }
    }
    await log.close();
  });
});
