// The producer in TypeScript: the package's .d.ts types check it (tsc --noEmit with module nodenext).
import { StreamProducer, type PutResult, type StreamProducerOptions } from 'tributary/producer';
import { loadDeviceCredentials, type DeviceCredentials } from 'tributary/pairing';
import { deaggregate, type UserRecord } from 'tributary/protocol';

const creds: DeviceCredentials = loadDeviceCredentials('/var/lib/tributary');
const options: StreamProducerOptions = {
  endpoint: creds.endpoint, region: creds.region, stream: `telemetry-${creds.name}`,
  credentials: creds, ca: creds.caCertificate, cert: creds.clientCertificate, key: creds.clientKey, aggregate: true,
};
const producer = new StreamProducer(options);
const result: PutResult = await producer.put(JSON.stringify({ temp: 21.5 }), { partitionKey: creds.name });
const records: UserRecord[] | undefined = deaggregate(new Uint8Array(0));
console.log(result.sequenceNumber, records?.length);
await producer.close();
