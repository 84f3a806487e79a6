/** The stock Firehose client for a test gateway, and creating a delivery stream up to ACTIVE. */
import { CreateDeliveryStreamCommand, DescribeDeliveryStreamCommand, FirehoseClient, type CreateDeliveryStreamCommandInput } from '@aws-sdk/client-firehose';
import { testOperator } from './gateway.ts';
import { waitFor } from './wait.ts';

export function firehoseClient(url: string, credentials: { accessKeyId: string; secretAccessKey: string } = testOperator): FirehoseClient {
  // A copy: the SDK annotates the object it is given.
  return new FirehoseClient({ endpoint: url, region: 'us-east-1', credentials: { ...credentials }, maxAttempts: 1 });
}

/** Creates the delivery stream and waits until it is ACTIVE. */
export async function createActiveDeliveryStream(client: FirehoseClient, input: CreateDeliveryStreamCommandInput): Promise<void> {
  await client.send(new CreateDeliveryStreamCommand(input));
  await waitFor(`delivery stream ${input.DeliveryStreamName} ACTIVE`, async () =>
    (await client.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: input.DeliveryStreamName }))).DeliveryStreamDescription?.DeliveryStreamStatus === 'ACTIVE', { timeoutMs: 30_000 });
}
