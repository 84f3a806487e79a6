/**
 * One fragment file of the camera ring: a small header, then the stream
 * header and the Cluster, in the clear or sealed. Pure codec.
 *
 * ```
 * 0   8  magic "TRBCAMF1"
 * 8   4  CRC-32C of every byte after this field
 * 12  1  flags: bit 0 sealed
 * 13  3  zero
 * 16  8  producer timestamp, epoch ms (float64 LE; integral)
 * 24  4  duration ms (u32 LE)
 * 28  4  stream header bytes (u32 LE, plain)
 * 32  4  Cluster bytes (u32 LE, plain)
 * 36  ..  header || Cluster, or: 12-byte nonce || AES-256-GCM(header || Cluster) || 16-byte tag
 * ```
 *
 * Sealed files authenticate bytes 12-35 as associated data, so a file's
 * timestamp cannot be changed without the key noticing. The CRC covers the
 * ciphertext: torn or damaged files are found without the key.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { TributaryError } from '../../sdk/protocol/errors.ts';
import { crc32c } from '../../sdk/protocol/crc32c.ts';

export const fragmentFileMagic = Buffer.from('TRBCAMF1', 'latin1');
export const fragmentFileHeaderBytes = 36;
const nonceBytes = 12;
const tagBytes = 16;
const flagSealed = 1;

export interface FragmentFileMeta {
  producerMs: number;
  durationMs: number;
  sealed: boolean;
}

/** The ring's sealing key, derived from the agent's buffer key (keys/buffer.key) so that one key protects everything at rest. */
export function ringKey(bufferKey: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', bufferKey, Buffer.alloc(0), 'tributary camera ring v1', 32));
}

export function encodeFragmentFile(f: { producerMs: number; durationMs: number; header: Uint8Array; cluster: Uint8Array }, key?: Uint8Array): Buffer {
  const head = Buffer.alloc(fragmentFileHeaderBytes);
  fragmentFileMagic.copy(head, 0);
  head[12] = key ? flagSealed : 0;
  head.writeDoubleLE(f.producerMs, 16);
  head.writeUInt32LE(f.durationMs, 24);
  head.writeUInt32LE(f.header.length, 28);
  head.writeUInt32LE(f.cluster.length, 32);
  let body: Buffer[];
  if (key) {
    const nonce = randomBytes(nonceBytes);
    const cipher = createCipheriv('aes-256-gcm', key, nonce);
    cipher.setAAD(head.subarray(12));
    body = [nonce, cipher.update(f.header), cipher.update(f.cluster), cipher.final(), cipher.getAuthTag()];
  } else body = [Buffer.from(f.header.buffer, f.header.byteOffset, f.header.length), Buffer.from(f.cluster.buffer, f.cluster.byteOffset, f.cluster.length)];
  const out = Buffer.concat([head, ...body]);
  out.writeUInt32LE(crc32c(out, 0, 12), 8);
  return out;
}

/** Reads the metadata of a file's first bytes; undefined when they are not a fragment file's. */
export function readFragmentMeta(bytes: Uint8Array): FragmentFileMeta | undefined {
  if (bytes.length < fragmentFileHeaderBytes) return undefined;
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (!b.subarray(0, 8).equals(fragmentFileMagic)) return undefined;
  return { producerMs: b.readDoubleLE(16), durationMs: b.readUInt32LE(24), sealed: (b[12]! & flagSealed) !== 0 };
}

/**
 * Decodes a whole file: CRC first (FRAGMENT_FILE_CORRUPT for torn or
 * damaged bytes), then the seal (CAMERA_KEY_REQUIRED without a key,
 * CAMERA_KEY_MISMATCH when it does not open).
 */
export function decodeFragmentFile(bytes: Uint8Array, key?: Uint8Array): FragmentFileMeta & { header: Uint8Array; cluster: Uint8Array } {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const meta = readFragmentMeta(b);
  if (!meta) throw new TributaryError('FRAGMENT_FILE_CORRUPT', 'not a camera fragment file (bad magic or too short)');
  if (b.readUInt32LE(8) !== crc32c(b, 0, 12)) throw new TributaryError('FRAGMENT_FILE_CORRUPT', 'checksum mismatch (a torn or damaged file)');
  const headerBytes = b.readUInt32LE(28);
  const clusterBytes = b.readUInt32LE(32);
  const body = b.subarray(fragmentFileHeaderBytes);
  let plain: Buffer;
  if (meta.sealed) {
    if (!key) throw new TributaryError('CAMERA_KEY_REQUIRED', 'the fragment is sealed: the buffer key (keys/buffer.key) is needed to read it');
    if (body.length !== nonceBytes + headerBytes + clusterBytes + tagBytes) throw new TributaryError('FRAGMENT_FILE_CORRUPT', 'sealed body has the wrong length');
    const decipher = createDecipheriv('aes-256-gcm', key, body.subarray(0, nonceBytes));
    decipher.setAAD(b.subarray(12, fragmentFileHeaderBytes));
    decipher.setAuthTag(body.subarray(body.length - tagBytes));
    try {
      plain = Buffer.concat([decipher.update(body.subarray(nonceBytes, body.length - tagBytes)), decipher.final()]);
    } catch (err) {
      throw new TributaryError('CAMERA_KEY_MISMATCH', 'the fragment does not open with this key (another device\'s key, or keys/buffer.key was replaced)', { cause: err });
    }
  } else {
    if (body.length !== headerBytes + clusterBytes) throw new TributaryError('FRAGMENT_FILE_CORRUPT', 'body has the wrong length');
    plain = body;
  }
  return { ...meta, header: plain.subarray(0, headerBytes), cluster: plain.subarray(headerBytes) };
}
