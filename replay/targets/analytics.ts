/**
 * `analytics:<application>`: replay into an Analytics (SQL) application
 * through its input, as its records would arrive live. The application's
 * first input (DescribeApplication, AWS's KinesisAnalytics_20150814 shape)
 * names a data stream or a delivery stream; the replay then writes there.
 */
import type { JsonRpcClient } from '../../sdk/http/json-rpc-client.ts';
import { TributaryError } from '../../sdk/protocol/errors.ts';

interface InputDescription {
  KinesisStreamsInputDescription?: { ResourceARN: string };
  KinesisFirehoseInputDescription?: { ResourceARN: string };
}

export async function analyticsInput(client: JsonRpcClient, application: string): Promise<{ kind: 'stream' | 'delivery-stream'; name: string }> {
  try {
    const r = await client.call<{ ApplicationDetail: { InputDescriptions?: InputDescription[] } }>('DescribeApplication', { ApplicationName: application });
    const input = r.ApplicationDetail.InputDescriptions?.[0];
    const stream = input?.KinesisStreamsInputDescription?.ResourceARN;
    const firehose = input?.KinesisFirehoseInputDescription?.ResourceARN;
    if (stream) return { kind: 'stream', name: stream.slice(stream.indexOf(':stream/') + ':stream/'.length) };
    if (firehose) return { kind: 'delivery-stream', name: firehose.slice(firehose.indexOf(':deliverystream/') + ':deliverystream/'.length) };
    throw new TributaryError('REPLAY_ANALYTICS_NO_INPUT', `application ${application} has no streaming input to replay into (AddApplicationInput first)`);
  } finally {
    client.close();
  }
}
