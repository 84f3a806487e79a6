/**
 * The filesystem destination: a bucket is a directory and an object key a
 * path under it, laid out as S3 would show it. Bucket `arn:aws:s3:::<bucket>`
 * maps to `<dataDir>/firehose-buckets/<bucket>/` unless the gateway config
 * (`firehose.buckets`) maps it elsewhere. Objects appear atomically: written
 * to a hidden temporary file, fsynced, renamed, and the directory fsynced.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { fsyncDir } from '../../storage/local/segment.ts';
import type { Destination, DestinationResolver } from './types.ts';

export const bucketsDirName = 'firehose-buckets';

export function bucketOf(bucketArn: string): string {
  const i = bucketArn.indexOf(':::');
  return i >= 0 ? bucketArn.slice(i + 3) : bucketArn;
}

/** Keys whose segments could leave the bucket directory are refused (S3 allows them; a filesystem must not). */
export function keyEscapes(key: string): boolean {
  return key.startsWith('/') || key.split('/').some((s) => s === '..' || s === '.') || key.includes('\0');
}

export class FilesystemDestination implements Destination {
  readonly kind = 'filesystem';
  constructor(readonly dir: string) {}

  async putObject(key: string, body: Buffer): Promise<void> {
    if (keyEscapes(key)) throw new Error(`object key ${JSON.stringify(key)} would leave the bucket directory`);
    const file = path.join(this.dir, key);
    const parent = path.dirname(file);
    const created = await fsp.mkdir(parent, { recursive: true, mode: 0o755 });
    // New directories are entries in their parents: make those durable too (the parent itself is synced after the rename).
    if (created !== undefined) {
      for (let d = path.dirname(parent); ; d = path.dirname(d)) {
        await fsyncDir(d);
        if (d === path.dirname(created) || d === path.dirname(d)) break;
      }
    }
    const tmp = path.join(parent, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
    const fh = await fsp.open(tmp, 'wx', 0o644);
    try {
      let written = 0;
      while (written < body.length) written += (await fh.write(body, written, body.length - written, written)).bytesWritten;
      await fh.datasync();
    } finally {
      await fh.close();
    }
    try {
      await fsp.rename(tmp, file);
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw err;
    }
    await fsyncDir(parent);
  }
}

export class FilesystemResolver implements DestinationResolver {
  private readonly cache = new Map<string, FilesystemDestination>();
  constructor(
    private readonly dataDir: string,
    /** Bucket name to directory, from the gateway config. */
    private readonly buckets: Readonly<Record<string, string>>,
  ) {}

  dirOf(bucket: string): string {
    const mapped = this.buckets[bucket];
    return mapped !== undefined ? path.resolve(mapped) : path.join(this.dataDir, bucketsDirName, bucket);
  }

  forBucket(bucketArn: string): FilesystemDestination {
    const bucket = bucketOf(bucketArn);
    let d = this.cache.get(bucket);
    if (!d) {
      d = new FilesystemDestination(this.dirOf(bucket));
      this.cache.set(bucket, d);
    }
    return d;
  }
}

/** Reads every object under a bucket directory (tests, tools): key to body. */
export function listObjects(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, prefix: string) => {
    if (!fs.existsSync(d)) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.name.startsWith('.')) continue;
      if (e.isDirectory()) walk(path.join(d, e.name), `${prefix}${e.name}/`);
      else out.push(`${prefix}${e.name}`);
    }
  };
  walk(dir, '');
  return out;
}
