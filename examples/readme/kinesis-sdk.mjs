// Put a record and read it back with the stock AWS SDK for JavaScript v3.
// Run it from the directory that holds data/: NODE_EXTRA_CA_CERTS=data/tls/ca.crt node examples/readme/kinesis-sdk.mjs
import { readFileSync } from 'node:fs';
import {
  KinesisClient, CreateStreamCommand, PutRecordCommand, GetShardIteratorCommand, GetRecordsCommand,
  ResourceInUseException, waitUntilStreamExists,
} from '@aws-sdk/client-kinesis';

const operator = JSON.parse(readFileSync('data/operator.json', 'utf8'));
const kinesis = new KinesisClient({
  endpoint: operator.endpoint,           // https://127.0.0.1:4567
  region: operator.region,               // us-east-1
  credentials: { accessKeyId: operator.accessKeyId, secretAccessKey: operator.secretAccessKey },
});
const StreamName = 'sdk-demo';           // its own stream: the CLI example above made "telemetry"
try {
  await kinesis.send(new CreateStreamCommand({ StreamName, ShardCount: 1 }));
} catch (err) {
  if (!(err instanceof ResourceInUseException)) throw err;   // made by an earlier run
}
await waitUntilStreamExists({ client: kinesis, maxWaitTime: 60, minDelay: 1 }, { StreamName });
const { ShardId, SequenceNumber } = await kinesis.send(new PutRecordCommand({
  StreamName, PartitionKey: 'dev-1', Data: Buffer.from('{"temp":21.5}'),
}));
const { ShardIterator } = await kinesis.send(new GetShardIteratorCommand({
  StreamName, ShardId, ShardIteratorType: 'AT_SEQUENCE_NUMBER', StartingSequenceNumber: SequenceNumber,
}));
const { Records } = await kinesis.send(new GetRecordsCommand({ ShardIterator }));
console.log(Buffer.from(Records[0].Data).toString());
kinesis.destroy();
