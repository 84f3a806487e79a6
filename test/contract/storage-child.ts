/**
 * A child process that writes to a storage backend until it is killed, and
 * prints on stdout what the backend acknowledged: `ack <firstCounter> <count>`
 * per durable shard-log append, `ack <version>` per metadata save. The
 * contract suites kill it with SIGKILL and check that everything acknowledged
 * is still there.
 *
 *   node --import tsx storage-child.ts shard-log <backend module> <location> <fsync policy>
 *   node --import tsx storage-child.ts metadata <backend module> <location>
 */
import assert from 'node:assert/strict';
import { parseFsyncPolicy } from '../../gateway/storage/types.ts';
import { metadataDoc, partitionKeyOf, payloadOf, type StorageBackend } from './backend.ts';

type ChildModule = Pick<StorageBackend, 'openShardLog' | 'openMetadataStore'>;

const [mode, modulePath, location, policy] = process.argv.slice(2);
const backend = (await import(modulePath!)) as ChildModule;

if (mode === 'shard-log') {
  const fsync = parseFsyncPolicy(policy!);
  assert.ok(fsync, `bad fsync policy ${policy}`);
  const log = await backend.openShardLog(location!, { fsync, segmentBytesMax: 64 * 1024 });
  process.stdout.write('ready\n');
  // Four writers keep appends in flight at once, so group commits form as in the gateway.
  const writer = async (seed: number) => {
    for (let i = 0; ; i++) {
      const n = 1 + ((seed + i) % 5);
      const first = log.nextCounter;
      const entries = Array.from({ length: n }, (_, k) => ({ partitionKey: partitionKeyOf(first + k), data: payloadOf(first + k), flags: 0 }));
      const r = log.append(entries);
      assert.equal(r.firstCounter, first);
      await r.durable;
      process.stdout.write(`ack ${first} ${n}\n`);
    }
  };
  await Promise.all([0, 1, 2, 3].map(writer));
} else if (mode === 'metadata') {
  const store = await backend.openMetadataStore(location!);
  process.stdout.write('ready\n');
  for (let version = 1; ; version++) {
    await store.save(metadataDoc(version));
    process.stdout.write(`ack ${version}\n`);
  }
} else {
  throw new Error(`unknown mode ${mode}`);
}
