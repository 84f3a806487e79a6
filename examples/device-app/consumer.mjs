import fs from 'node:fs';
import { StreamConsumer, GatewayLeaseStore } from 'tributary/consumer';

const connection = {
  endpoint: process.env.TRB_ENDPOINT, region: 'us-east-1',     // https://gateway.example.lan:4567
  credentials: { accessKeyId: process.env.TRB_KEY, secretAccessKey: process.env.TRB_SECRET },
  ca: fs.readFileSync(process.env.TRB_CA ?? '/etc/billing/gateway-ca.pem', 'utf8'),
};
const consumer = new StreamConsumer({
  ...connection,
  stream: process.argv[2] ?? 'telemetry',
  leases: new GatewayLeaseStore({ ...connection, table: 'billing' }),   // one table per application
  checkpointIntervalMs: 5_000,
  handler: async (records, { shardId }) => {
    // Deaggregated user records, in order within the shard. Checkpointed after this resolves.
    for (const r of records) console.log(JSON.stringify({ shardId, device: r.partitionKey, body: Buffer.from(r.data).toString() }));
  },
  onEvent: (e) => e.type === 'error' && console.error(e.shardId, e.error),
});
await consumer.start();
process.once('SIGTERM', () => void consumer.stop().then(() => process.exit(0)));
