/**
 * The dead-letter file: records the uplink gave up on, kept instead of
 * discarded. JSON lines, one record each, with base64 data, so an operator
 * can read them and offline replay can resend them. With an encryption key
 * each line is sealed instead (`{"sealed": base64(nonce + secretbox(json))}`),
 * because dead letters are as sensitive as the buffer itself.
 */
import fs from 'node:fs';
import path from 'node:path';
import nacl from 'tweetnacl';
import { encryptionNonceBytes } from './limits.ts';
import type { FrameRecord } from './frame-codec.ts';

export const deadLetterFileName = 'dead-letter.jsonl';

/** The exported line shape shared with exportBuffer, plus why it was dead-lettered. */
export function recordLine(r: FrameRecord): Record<string, unknown> {
  const line: Record<string, unknown> = {
    partitionKey: r.partitionKey, data: r.data.toString('base64'), capturedAt: r.capturedAtMs, source: r.source, seq: r.seq,
  };
  if (r.explicitHashKey !== undefined) line.explicitHashKey = r.explicitHashKey;
  return line;
}

/** Appends and fdatasyncs: a dead letter is the last copy of its record. */
export function appendDeadLetters(dir: string, records: FrameRecord[], reason: string, key?: Uint8Array, nowMs = Date.now()): void {
  if (records.length === 0) return;
  const lines = records.map((r) => {
    const json = JSON.stringify({ ...recordLine(r), reason, deadLetteredAt: nowMs });
    if (!key) return json;
    const nonce = nacl.randomBytes(encryptionNonceBytes);
    const box = nacl.secretbox(Buffer.from(json, 'utf8'), nonce, key);
    return JSON.stringify({ sealed: Buffer.concat([nonce, box]).toString('base64') });
  });
  const fd = fs.openSync(path.join(dir, deadLetterFileName), 'a', 0o600);
  try {
    fs.writeSync(fd, lines.join('\n') + '\n');
    fs.fdatasyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Reads the dead-letter file back (opening sealed lines with `key`). */
export function readDeadLetters(dir: string, key?: Uint8Array): Record<string, unknown>[] {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dir, deadLetterFileName), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return text.split('\n').filter((l) => l.length > 0).map((l) => {
    const doc = JSON.parse(l) as Record<string, unknown>;
    if (typeof doc.sealed !== 'string') return doc;
    const raw = Buffer.from(doc.sealed, 'base64');
    const opened = key ? nacl.secretbox.open(raw.subarray(encryptionNonceBytes), raw.subarray(0, encryptionNonceBytes), key) : null;
    return opened ? (JSON.parse(Buffer.from(opened).toString('utf8')) as Record<string, unknown>) : { sealed: doc.sealed };
  });
}
