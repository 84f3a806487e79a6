/**
 * Snappy containers around snappyjs's raw block codec (pure JavaScript):
 *
 * - `Snappy`: the Snappy framing format (google/snappy framing_format.txt):
 *   stream identifier `ff 06 00 00 "sNaPpY"`, then chunks of at most 64 KiB of
 *   input, each `type(1) length(3, LE) masked-CRC-32C(4, LE) data`, compressed
 *   (type 0) or stored (type 1) when compression does not pay.
 * - `HADOOP_SNAPPY`: Hadoop's BlockCompressorStream framing: per block of input,
 *   4-byte big-endian uncompressed length, then 4-byte big-endian compressed
 *   length and the raw Snappy block.
 */
import * as snappyjs from 'snappyjs';
import { crc32cRange } from '../storage/local/crc.ts';

/** framing_format.txt 4.2: at most 65536 bytes of uncompressed data per chunk. */
export const snappyFrameInputBytesMax = 65536;
/** Hadoop's io.compression.codec.snappy.buffersize default: 256 KiB blocks. */
export const hadoopSnappyBlockBytes = 256 * 1024;

const streamIdentifier = Buffer.from([0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59]);

/** framing_format.txt 3: the CRC is masked so that CRCs of CRCs stay strong. */
export function maskedCrc32c(data: Buffer): number {
  const crc = crc32cRange(data, 0, data.length);
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

export function snappyRawCompress(data: Buffer): Buffer {
  return snappyjs.compress(data);
}

export function snappyRawUncompress(data: Buffer): Buffer {
  return snappyjs.uncompress(data);
}

export function snappyFramed(data: Buffer): Buffer {
  const out: Buffer[] = [streamIdentifier];
  for (let at = 0; at < data.length; at += snappyFrameInputBytesMax) {
    const chunk = data.subarray(at, Math.min(data.length, at + snappyFrameInputBytesMax));
    const compressed = snappyjs.compress(chunk);
    const stored = compressed.length >= chunk.length;
    const body = stored ? chunk : compressed;
    const header = Buffer.alloc(8);
    header.writeUInt32LE(((body.length + 4) << 8) | (stored ? 0x01 : 0x00), 0);
    header.writeUInt32LE(maskedCrc32c(chunk), 4);
    out.push(header, body);
  }
  return Buffer.concat(out);
}

export function hadoopSnappy(data: Buffer): Buffer {
  const out: Buffer[] = [];
  for (let at = 0; at < data.length; at += hadoopSnappyBlockBytes) {
    const block = data.subarray(at, Math.min(data.length, at + hadoopSnappyBlockBytes));
    const compressed = snappyjs.compress(block);
    const header = Buffer.alloc(8);
    header.writeUInt32BE(block.length, 0);
    header.writeUInt32BE(compressed.length, 4);
    out.push(header, compressed);
  }
  return Buffer.concat(out);
}
