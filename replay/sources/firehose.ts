/**
 * `firehose:<dir>` or `s3://bucket/prefix`: the objects a delivery stream
 * delivered, in key order (Firehose keys sort by delivery time), each turned
 * back into records (firehose-objects.ts). The object list is taken at the
 * first run and saved in the checkpoint, so a resumed run reads the same
 * objects even if more were delivered since. Hidden files (a destination's
 * temporary files) are skipped. An object that cannot be read (damaged,
 * unknown format) becomes one bad item in the rejects file; the run goes on.
 *
 * Records carry no partition key in an object (except inside KPL
 * aggregates): they get `--partition-key`, or else their position in the
 * archive as key. Their time, for --speed, is the object's: the time in its
 * name (`…-YYYY-MM-DD-HH-MM-SS-<uuid>`), or its modification time.
 */
import fs from 'node:fs';
import path from 'node:path';
import { TributaryError } from '../../sdk/protocol/errors.ts';
import { decompress, detectFormat, openEnvelope, parquetRecords, splitBody, type SplitMode, type SplitRecord } from '../firehose-objects.ts';
import type { OpenOptions } from '../open.ts';
import type { ReplaySource, SourceItem } from '../types.ts';

interface ObjectRef {
  key: string;
  size: number;
  timeMs: number;
}

interface Store {
  list(): Promise<ObjectRef[]>;
  read(key: string): Promise<Buffer>;
}

const nameTime = /(\d{4})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-[0-9a-f-]{36}[^/]*$/;

function timeOf(key: string, fallbackMs: number): number {
  const m = nameTime.exec(key);
  return m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) : fallbackMs;
}

function dirStore(root: string): Store {
  return {
    async list() {
      const out: ObjectRef[] = [];
      const walk = (rel: string) => {
        for (const e of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
          if (e.name.startsWith('.')) continue;
          const r = rel ? `${rel}/${e.name}` : e.name;
          if (e.isDirectory()) walk(r);
          else if (e.isFile()) {
            const st = fs.statSync(path.join(root, r));
            out.push({ key: r, size: st.size, timeMs: timeOf(r, st.mtimeMs) });
          }
        }
      };
      walk('');
      return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    },
    async read(key) {
      return fs.readFileSync(path.join(root, key));
    },
  };
}

async function s3Store(url: string, o: NonNullable<OpenOptions['s3']>): Promise<Store> {
  const { S3Client, ListObjectsV2Command, GetObjectCommand } = await import('@aws-sdk/client-s3');
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (!m) throw new TributaryError('REPLAY_OPTION_INVALID', `${url} is not s3://bucket/prefix`);
  const [, bucket, prefix] = m as unknown as [string, string, string];
  const s3 = new S3Client({ endpoint: o.endpoint, region: o.region, forcePathStyle: true, credentials: { accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey } });
  return {
    async list() {
      const out: ObjectRef[] = [];
      let token: string | undefined;
      do {
        const r = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
        for (const x of r.Contents ?? []) {
          if (x.Key!.split('/').pop()!.startsWith('.')) continue;
          out.push({ key: x.Key!, size: x.Size ?? 0, timeMs: timeOf(x.Key!, x.LastModified?.getTime() ?? 0) });
        }
        token = r.NextContinuationToken;
      } while (token);
      return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    },
    async read(key) {
      const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return Buffer.from(await r.Body!.transformToByteArray());
    },
  };
}

export class FirehoseSource implements ReplaySource {
  readonly description: string;
  readonly totalBytes: number;
  bytesRead = 0;

  private constructor(private readonly store: Store, readonly state: { objects: ObjectRef[] }, location: string, private readonly o: OpenOptions) {
    this.totalBytes = state.objects.reduce((n, x) => n + x.size, 0);
    this.description = `Firehose objects ${location} (${state.objects.length})`;
  }

  static async open(location: string, o: OpenOptions, saved: unknown): Promise<FirehoseSource> {
    let store: Store;
    if (location.startsWith('s3://')) store = await s3Store(location, o.s3!);
    else {
      if (!fs.existsSync(location) || !fs.statSync(location).isDirectory()) throw new TributaryError('REPLAY_SOURCE_MISSING', `${location} is not a directory of delivered objects`);
      store = dirStore(location);
    }
    const state = (saved as { objects: ObjectRef[] } | undefined) ?? { objects: await store.list() };
    return new FirehoseSource(store, state, location, o);
  }

  async *items(skip: number): AsyncGenerator<SourceItem> {
    let n = 0;
    for (const obj of this.state.objects) {
      let records: SplitRecord[] | undefined;
      let problem: string | undefined;
      try {
        records = await this.recordsOf(obj);
      } catch (err) {
        if ((err as { code?: string }).code === 'REPLAY_KEY_MISSING' || (err as { code?: string }).code === 'OBJECT_DECRYPT_FAILED') throw err;
        problem = `${obj.key}: ${(err as Error).message}`;
      }
      this.bytesRead += obj.size;
      if (!records) {
        if (n++ >= skip) yield { kind: 'bad', reason: problem!, raw: obj.key };
        else yield { kind: 'skipped' };
        continue;
      }
      for (const r of records) {
        if (n++ < skip) {
          yield { kind: 'skipped' };
          continue;
        }
        yield {
          kind: 'record',
          record: { data64: r.data.toString('base64'), dataBytes: r.data.length, partitionKey: r.partitionKey ?? String(n - 1), ...(r.explicitHashKey !== undefined ? { explicitHashKey: r.explicitHashKey } : {}), timeMs: obj.timeMs },
        };
      }
    }
  }

  private async recordsOf(obj: ObjectRef): Promise<SplitRecord[]> {
    const body = openEnvelope(await this.store.read(obj.key), this.o.masterKey, obj.key);
    const format = detectFormat(body, obj.key);
    if (format === 'parquet') return parquetRecords(body);
    return splitBody(decompress(format, body), this.o.split as SplitMode);
  }
}
