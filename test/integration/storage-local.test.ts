// Runs the storage contract suites (test/contract/) against the local backend: the same order, durability (SIGKILLed writers under each fsync policy), torn-tail, trim, read-race, time-lookup and large-record tests a NATS backend must pass.
import { describe, expect, it } from 'vitest';
import { LocalShardLog } from '../../gateway/storage/local/shard-log.ts';
import { metadataStoreContract } from '../contract/metadata-store.contract.ts';
import { shardLogContract } from '../contract/shard-log.contract.ts';
import { localBackend } from '../contract/local-backend.ts';

shardLogContract(localBackend);
metadataStoreContract(localBackend);

describe('local shard log: the interval policy under load', () => {
  it('syncs at least every interval while the writer never idles (counting fdatasyncs)', async () => {
    const intervalMs = 50;
    const syncs: number[] = [];
    const log = await LocalShardLog.open(await localBackend.newLocation(), {
      fsync: { kind: 'interval', intervalMs }, segmentBytesMax: 1 << 30, segmentAgeMsMax: 3_600_000, onSync: () => syncs.push(performance.now()),
    });
    // Eight writers keep a write in flight at every moment, as a busy shard does.
    const started = performance.now();
    const busyMs = 1500;
    let writes = 0;
    const writer = async () => {
      while (performance.now() - started < busyMs) {
        await log.append([{ partitionKey: 'k', data: Buffer.alloc(32 * 1024, writes & 0xff), flags: 0 }]).durable;
        writes++;
      }
    };
    await Promise.all(Array.from({ length: 8 }, writer));
    const ended = performance.now();
    await log.close();
    const during = syncs.filter((t) => t <= ended);
    const gaps = [during[0]! - started, ...during.slice(1).map((t, i) => t - during[i]!), ended - during.at(-1)!];
    // The unsynced window is the interval plus the write in flight; a loaded CI machine gets generous slack, an unbounded window (one sync per segment roll) none.
    expect(writes).toBeGreaterThan(50);
    expect(during.length).toBeGreaterThanOrEqual(Math.floor(busyMs / intervalMs / 4));
    expect(Math.max(...gaps)).toBeLessThan(intervalMs + 400);
  });
});
