/** Stock Kinesis Video SDK v3 clients for a test gateway, and small helpers the video tests share. */
import { KinesisVideoClient } from '@aws-sdk/client-kinesis-video';
import { KinesisVideoArchivedMediaClient } from '@aws-sdk/client-kinesis-video-archived-media';
import { KinesisVideoMediaClient } from '@aws-sdk/client-kinesis-video-media';
import { testOperator } from './gateway.ts';

type Credentials = { accessKeyId: string; secretAccessKey: string };
const common = (url: string, credentials: Credentials) => ({ endpoint: url, region: 'us-east-1', credentials: { ...credentials }, maxAttempts: 1 });

export function videoClient(url: string, credentials: Credentials = testOperator): KinesisVideoClient {
  return new KinesisVideoClient(common(url, credentials));
}
export function videoMediaClient(url: string, credentials: Credentials = testOperator): KinesisVideoMediaClient {
  return new KinesisVideoMediaClient(common(url, credentials));
}
export function archivedMediaClient(url: string, credentials: Credentials = testOperator): KinesisVideoArchivedMediaClient {
  return new KinesisVideoArchivedMediaClient(common(url, credentials));
}

/** The AWS error a promise rejects with: its name, HTTP status and message. */
export async function awsErrorOf(p: Promise<unknown>): Promise<{ name: string; status: number | undefined; message: string }> {
  try {
    await p;
  } catch (err) {
    const e = err as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode, message: e.message };
  }
  throw new Error('expected an error');
}
