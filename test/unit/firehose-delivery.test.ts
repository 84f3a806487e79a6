// The delivery worker's at-least-once contract, in process: while a
// checkpoint cannot be saved the worker retries saving it (it neither skips
// the records nor writes their object again), and a new worker on the same
// staging log delivers from the last saved checkpoint — the duplicate window
// docs/firehose.md describes.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DeliveryWorker, readCheckpoint } from '../../gateway/firehose/delivery.ts';
import { FilesystemResolver, listObjects } from '../../gateway/firehose/destinations/filesystem.ts';
import { normaliseS3 } from '../../gateway/firehose/model.ts';
import { silentLogger } from '../../gateway/log.ts';
import { LocalShardLog } from '../../gateway/storage/local/shard-log.ts';
import { tempDir } from '../helpers/gateway.ts';
import { waitFor } from '../helpers/wait.ts';

const opened: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const o of opened.splice(0).reverse()) await o.close();
});

async function setup(dir: string, checkpointFile: string, intervalS = 0, onFailed?: () => void) {
  const staging = await LocalShardLog.open(path.join(dir, 'staging'), { fsync: { kind: 'always' }, segmentBytesMax: 1 << 20, segmentAgeMsMax: 60_000 });
  opened.push(staging);
  const destination = normaliseS3({ RoleARN: 'arn:aws:iam::000000000000:role/r', BucketARN: 'arn:aws:s3:::b', BufferingHints: { SizeInMBs: 1, IntervalInSeconds: intervalS } });
  const worker = await DeliveryWorker.start({
    name: 'w', staging, checkpointFile, config: () => ({ destination, versionId: 1 }),
    destinations: new FilesystemResolver(dir, {}), log: silentLogger, now: Date.now, ...(onFailed ? { onFailed } : {}),
  });
  opened.push(worker);
  return { staging, worker, bucket: path.join(dir, 'firehose-buckets', 'b') };
}

async function stage(staging: LocalShardLog, worker: DeliveryWorker, items: string[]): Promise<void> {
  const r = staging.append(items.map((s) => ({ partitionKey: '', data: Buffer.from(s + '\n'), flags: 0 })));
  await r.durable;
  worker.noteDurable(r.firstCounter, r.firstCounter + items.length, r.arrivalMs, items.reduce((n, s) => n + s.length + 1, 0));
}

const until = (what: string, fn: () => boolean): Promise<unknown> => waitFor(what, fn);

const delivered = (bucket: string) => listObjects(bucket).flatMap((k) => fs.readFileSync(path.join(bucket, k), 'utf8').split('\n').filter(Boolean));

describe('delivery worker', () => {
  it('delivers, checkpoints and trims', async () => {
    const dir = tempDir('trb-fh-worker-');
    const { staging, worker, bucket } = await setup(dir, path.join(dir, 'checkpoint.json'));
    await stage(staging, worker, ['a', 'b', 'c']);
    await until('delivery', () => worker.deliveredCounter === 3);
    expect(delivered(bucket)).toEqual(['a', 'b', 'c']);
    expect(await readCheckpoint(path.join(dir, 'checkpoint.json'))).toBe(3);
  });

  it('never moves past records whose checkpoint was not saved; a restart delivers them again', async () => {
    const dir = tempDir('trb-fh-worker-');
    // The checkpoint's directory is a file: every checkpoint write fails after the object is written.
    const blocker = path.join(dir, 'ckpt');
    const checkpointFile = path.join(blocker, 'checkpoint.json');
    let failures = 0;
    const first = await setup(dir, checkpointFile, 0, () => failures++);
    fs.writeFileSync(blocker, '');
    await stage(first.staging, first.worker, ['r1', 'r2']);
    await until('an object', () => listObjects(first.bucket).length >= 1);
    await until('three failed attempts', () => failures >= 3);
    expect(first.worker.deliveredCounter).toBe(0);
    await first.worker.close();
    await first.staging.close();
    // Retries saved the checkpoint only; the object was not written again.
    const before = delivered(first.bucket);
    expect(before).toEqual(['r1', 'r2']);

    // "Restart" with the checkpoint writable: the records are delivered (again) and the checkpoint moves.
    fs.rmSync(blocker);
    const second = await setup(dir, checkpointFile, 900);
    await until('redelivery', () => second.worker.deliveredCounter === 2);
    const after = delivered(second.bucket);
    expect(after.sort()).toEqual(['r1', 'r1', 'r2', 'r2']);
    expect(await readCheckpoint(checkpointFile)).toBe(2);
  });
});
