import { StreamProducer } from 'tributary/producer';
import { loadDeviceCredentials } from 'tributary/pairing';

const creds = loadDeviceCredentials('/var/lib/tributary');   // what tributary-agent pair stored
const producer = new StreamProducer({
  endpoint: creds.endpoint, region: creds.region, stream: `telemetry-${creds.name}`,
  credentials: creds, ca: creds.caCertificate, cert: creds.clientCertificate, key: creds.clientKey,
  aggregate: true,          // KPL aggregation: many small records per Kinesis record
});
const results = await Promise.all([21.5, 21.6, 21.8].map((temp) =>
  producer.put(JSON.stringify({ temp }), { partitionKey: creds.name })));
for (const { shardId, sequenceNumber, subSequenceNumber } of results) console.log(shardId, sequenceNumber, subSequenceNumber);
await producer.close();     // flushes what is queued
