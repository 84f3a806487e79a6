/**
 * A StreamConsumer worker as its own process, for the multi-worker test:
 * `node --import tsx test/helpers/consumer-worker.ts '<json options>'`.
 * Every record and lease event is appended to `out` with a synchronous
 * write before the handler returns, so a SIGKILL loses nothing the worker
 * processed. Prints `ready` once started; SIGTERM stops it gracefully.
 */
import fs from 'node:fs';
import { StreamConsumer } from '../../sdk/streams/consumer.ts';
import { GatewayLeaseStore } from '../../sdk/streams/leases/gateway-store.ts';

interface WorkerArgs {
  endpoint: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  stream: string;
  table: string;
  workerId: string;
  out: string;
  leaseDurationMs: number;
  takeIntervalMs: number;
  checkpointIntervalMs: number;
  pollIntervalMs: number;
  shardSyncIntervalMs: number;
}

const args = JSON.parse(process.argv[2]!) as WorkerArgs;
const fd = fs.openSync(args.out, 'a');
const now = () => performance.timeOrigin + performance.now();
const write = (o: Record<string, unknown>) => fs.writeSync(fd, JSON.stringify({ t: now(), w: args.workerId, ...o }) + '\n');

const consumer = new StreamConsumer({
  endpoint: args.endpoint,
  region: 'us-east-1',
  credentials: args.credentials,
  stream: args.stream,
  workerId: args.workerId,
  leases: new GatewayLeaseStore({ endpoint: args.endpoint, region: 'us-east-1', credentials: args.credentials, table: args.table }),
  leaseDurationMs: args.leaseDurationMs,
  takeIntervalMs: args.takeIntervalMs,
  checkpointIntervalMs: args.checkpointIntervalMs,
  pollIntervalMs: args.pollIntervalMs,
  shardSyncIntervalMs: args.shardSyncIntervalMs,
  handler: (records, { shardId }) => {
    const lines = records.map((r) => {
      const [key, n] = Buffer.from(r.data).toString('utf8').split(':');
      return JSON.stringify({ t: now(), w: args.workerId, ev: 'rec', shard: shardId, key, n: Number(n), seq: r.sequenceNumber }) + '\n';
    });
    fs.writeSync(fd, lines.join(''));
  },
  onEvent: (e) => {
    if (e.type === 'error') write({ ev: 'error', shard: e.shardId, message: e.error.message });
    else if (e.type === 'checkpoint') write({ ev: 'checkpoint', shard: e.shardId, seq: e.checkpoint.sequenceNumber });
    else write({ ev: e.type, shard: e.shardId });
  },
});

process.once('SIGTERM', () => {
  void consumer.stop().then(() => {
    write({ ev: 'stopped' });
    process.exit(0);
  });
});

await consumer.start();
write({ ev: 'started' });
process.stdout.write('ready\n');
