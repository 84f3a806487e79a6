/** Stock Kinesis Video SDK v3 clients for a test gateway, and small helpers the video tests share. */
import http from 'node:http';
import { signRequest, unsignedPayload } from '../../sdk/protocol/sigv4.ts';
import { AckDecoder, type Ack } from '../../sdk/protocol/video/acks.ts';
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


/** A raw PutMedia request: chunked body written by the test, acks collected line by line as they arrive. */
export interface RawPutMedia {
  req: http.ClientRequest;
  /** Every ack so far, in order. */
  acks: Ack[];
  /** The raw lines of the answer, as received. */
  lines: string[];
  status: Promise<number>;
  /** Resolves when the answer ends (or the connection closes). */
  done: Promise<void>;
  /** Resolves once `pred` holds for the acks received. */
  until(pred: (acks: Ack[]) => boolean, timeoutMs?: number): Promise<void>;
}

export function rawPutMedia(
  url: string,
  o: { stream: string; timecodeType?: 'ABSOLUTE' | 'RELATIVE'; startMs?: number; credentials?: { accessKeyId: string; secretAccessKey: string } },
): RawPutMedia {
  const target = new URL('/putMedia', url);
  const creds = o.credentials ?? testOperator;
  const headers = signRequest({
    method: 'POST', url: target, body: '', payloadHash: unsignedPayload,
    headers: {
      'x-amzn-stream-name': o.stream,
      'x-amzn-fragment-timecode-type': o.timecodeType ?? 'ABSOLUTE',
      'x-amzn-producer-start-timestamp': ((o.startMs ?? Date.now()) / 1000).toFixed(3),
      'x-amzn-fragment-acknowledgment-required': '1',
      'x-amz-content-sha256': unsignedPayload,
    },
    accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey, region: 'us-east-1', service: 'kinesisvideo', now: Date.now(),
  });
  const req = http.request({ host: target.hostname, port: target.port, path: '/putMedia', method: 'POST', headers: { ...headers, 'transfer-encoding': 'chunked' }, agent: false });
  const acks: Ack[] = [];
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  const check = () => {
    for (const w of [...waiters]) w();
  };
  let resolveStatus!: (n: number) => void;
  const status = new Promise<number>((r) => (resolveStatus = r));
  const done = new Promise<void>((resolve) => {
    req.on('response', (res) => {
      resolveStatus(res.statusCode ?? 0);
      const decoder = new AckDecoder();
      let text = '';
      res.on('data', (c: Buffer) => {
        text += c.toString('utf8');
        const parts = text.split('\n');
        text = parts.pop()!;
        lines.push(...parts.filter((l) => l));
        if (res.statusCode === 200) acks.push(...decoder.push(c));
        check();
      });
      res.on('end', () => {
        if (text) lines.push(text);
        resolve();
        check();
      });
      res.on('error', () => resolve());
    });
    req.on('error', () => {
      resolveStatus(0);
      resolve();
      check();
    });
  });
  let ended = false;
  void done.then(() => (ended = true));
  return {
    req, acks, lines, status, done,
    until(pred, timeoutMs = 20_000) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(test);
          reject(new Error(`acks never matched; got ${JSON.stringify(acks)}`));
        }, timeoutMs);
        const test = () => {
          if (pred(acks)) {
            clearTimeout(timer);
            waiters.delete(test);
            resolve();
          } else if (ended) {
            clearTimeout(timer);
            waiters.delete(test);
            reject(new Error(`the answer ended; acks ${JSON.stringify(acks)}`));
          }
        };
        waiters.add(test);
        test();
      });
    },
  };
}

/** Writes `bytes` to a request in chunks of at most `chunk` bytes, yielding to the event loop between them. */
export async function writeInChunks(req: http.ClientRequest, bytes: Uint8Array, chunk = 64 * 1024): Promise<void> {
  for (let i = 0; i < bytes.length; i += chunk) {
    if (!req.write(bytes.subarray(i, i + chunk))) await new Promise((r) => req.once('drain', r));
    await new Promise((r) => setImmediate(r));
  }
}
