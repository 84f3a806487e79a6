/**
 * The CompressionFormat step of delivery: one buffer in, one object body out.
 * GZIP and ZIP run on libuv's thread pool (node:zlib), Snappy in JavaScript.
 */
import zlib from 'node:zlib';
import { promisify } from 'node:util';
import type { CompressionFormat } from '../../sdk/protocol/firehose/limits.ts';
import { hadoopSnappy, snappyFramed } from './snappy.ts';
import { zipOne } from './zip.ts';

const gzip = promisify(zlib.gzip);

/** The level `gzip -6` (and AWS's GZIP output) uses. */
export const gzipLevel = 6;
/**
 * GZIP bodies are compressed in slices of this size on the thread pool at
 * once and written as consecutive gzip members (RFC 1952 2.2: a gzip file is
 * a series of members), which gunzip, zcat, Java's GZIPInputStream, Python's
 * gzip and Hadoop read as one stream. One core's `gzip -6` speed times the
 * cores in use, at the cost of about 0.01% in ratio.
 */
export const gzipSliceBytes = 4 * 1024 * 1024;

async function gzipParallel(data: Buffer): Promise<Buffer> {
  if (data.length <= gzipSliceBytes) return gzip(data, { level: gzipLevel });
  const slices: Buffer[] = [];
  for (let at = 0; at < data.length; at += gzipSliceBytes) slices.push(data.subarray(at, Math.min(data.length, at + gzipSliceBytes)));
  return Buffer.concat(await Promise.all(slices.map((s) => gzip(s, { level: gzipLevel }))));
}

/** The extension Firehose gives objects of each format (when FileExtension is not set). */
export const compressionExtension: Record<CompressionFormat, string> = {
  UNCOMPRESSED: '',
  GZIP: '.gz',
  ZIP: '.zip',
  Snappy: '.snappy',
  HADOOP_SNAPPY: '.hsnappy',
};

/** Compresses an object body; `entryName` names the entry inside a ZIP archive. */
export async function compress(format: CompressionFormat, data: Buffer, options: { entryName: string; mtimeMs: number }): Promise<Buffer> {
  switch (format) {
    case 'UNCOMPRESSED':
      return data;
    case 'GZIP':
      return gzipParallel(data);
    case 'ZIP':
      return zipOne(options.entryName, data, options.mtimeMs);
    case 'Snappy':
      return snappyFramed(data);
    case 'HADOOP_SNAPPY':
      return hadoopSnappy(data);
  }
}
