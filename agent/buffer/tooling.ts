/**
 * Operator tooling over a buffer root (one directory per destination): the
 * `tributary-agent buffer` commands and offline replay. All of it only reads the buffer: they are safe to
 * run beside a live agent and on a copy taken from a broken device.
 */
import fs from 'node:fs';
import path from 'node:path';
import { readCheckpoint, type Checkpoint } from './checkpoint.ts';
import { deadLetterFileName, recordLine } from './dead-letter.ts';
import { bufferError } from './errors.ts';
import { decodeFrame, frameBytesLimit, frameCapturedAtMs, frameHeaderBytes, type FrameRecord } from './frame-codec.ts';
import { readFrames } from './frame-reader.ts';
import { readBufferBytesDefault } from './limits.ts';
import { listSegmentIds, readSegmentMeta, scanSegment, segmentFileName, segmentHeaderBytes } from './segment.ts';

export interface DestinationSummary {
  destination: string;
  segments: number;
  diskBytes: number;
  depthRecords: number;
  depthBytes: number;
  oldestUnackedCapturedAtMs: number | undefined;
  newestCapturedAtMs: number | undefined;
  deadLetterBytes: number;
}

export interface SegmentVerdict {
  file: string;
  fileBytes: number;
  records: number;
  validBytes: number;
  problem?: string;
}

function destinations(root: string): string[] {
  return fs.readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && fs.readdirSync(path.join(root, d.name)).some((n) => n.endsWith('.seg')))
    .map((d) => d.name).sort();
}

type Cursors = Omit<Checkpoint, 'nextSeq'>;

function ackOf(dir: string): Cursors {
  const cp = readCheckpoint(dir);
  return cp.kind === 'ok' ? cp.checkpoint : { segment: 0, offset: segmentHeaderBytes, index: 0 };
}

/** Where segment `id`'s unacked records start (undefined: it has none), under a catch-up's two cursors too. */
function unackedFrom(ack: Cursors, id: number): { offset: number; index: number } | undefined {
  const cursor = ack.split && id >= ack.split.segment ? ack.split.live : ack;
  if (id < cursor.segment) return undefined;
  return id === cursor.segment ? { offset: cursor.offset, index: cursor.index } : { offset: segmentHeaderBytes, index: 0 };
}

/** Per-destination depth, ages and segments, from sidecars where valid (cheap) and scans otherwise. */
export async function inspectBuffer(root: string): Promise<{ destinations: DestinationSummary[] }> {
  const out: DestinationSummary[] = [];
  for (const destination of destinations(root)) {
    const dir = path.join(root, destination);
    const ack = ackOf(dir);
    const s: DestinationSummary = {
      destination, segments: 0, diskBytes: 0, depthRecords: 0, depthBytes: 0,
      oldestUnackedCapturedAtMs: undefined, newestCapturedAtMs: undefined, deadLetterBytes: fileSize(path.join(dir, deadLetterFileName)),
    };
    for (const id of listSegmentIds(dir)) {
      const info = readSegmentMeta(dir, id)?.info ??
        (await scanSegment(dir, id, { chunkBytes: readBufferBytesDefault, frameBytesLimit, decode: false })).info;
      s.segments++;
      s.diskBytes += info.fileBytes;
      const at = unackedFrom(ack, id);
      if (!at) continue;
      const from = Math.min(at.offset, info.end);
      const records = info.records - Math.min(at.index, info.records);
      if (records <= 0) continue;
      s.depthRecords += records;
      s.depthBytes += info.end - from;
      s.oldestUnackedCapturedAtMs ??= from === segmentHeaderBytes ? info.firstCapturedAtMs : capturedAtAt(info.file, from);
      s.newestCapturedAtMs = info.lastCapturedAtMs;
    }
    out.push(s);
  }
  return { destinations: out };
}

/** A full CRC scan of every segment; reports, never repairs. */
export async function verifyBuffer(root: string): Promise<{ ok: boolean; destinations: { destination: string; checkpoint: string; segments: SegmentVerdict[] }[] }> {
  let ok = true;
  const result = [];
  for (const destination of destinations(root)) {
    const dir = path.join(root, destination);
    const cp = readCheckpoint(dir);
    if (cp.kind === 'damaged') ok = false;
    const segments: SegmentVerdict[] = [];
    for (const id of listSegmentIds(dir)) {
      const { info, problem } = await scanSegment(dir, id, { chunkBytes: readBufferBytesDefault, frameBytesLimit, decode: false });
      const v: SegmentVerdict = { file: info.file, fileBytes: info.fileBytes, records: info.records, validBytes: info.end };
      if (problem) {
        ok = false;
        v.problem = `${problem.kind}: ${problem.reason} at offset ${problem.offset}`;
      }
      segments.push(v);
    }
    result.push({ destination, checkpoint: cp.kind === 'damaged' ? `damaged: ${cp.reason}` : cp.kind, segments });
  }
  return { ok, destinations: result };
}

/** One step of reading a destination's unacknowledged records: a record, or a stretch that could not be read. */
export type BufferReadEvent =
  | { kind: 'record'; record: FrameRecord; segmentFile: string }
  | { kind: 'problem'; problem: string };

/**
 * Yields the unacknowledged records of one destination in buffer order,
 * streaming each segment in bounded chunks; a corrupt or torn stretch is
 * reported as a problem and the rest of its segment skipped. Read-only: safe
 * beside a live agent and on a copy from a broken device. Throws
 * BUFFER_KEY_REQUIRED / BUFFER_KEY_MISMATCH for sealed records without the
 * right key.
 */
export async function* readBufferRecords(root: string, destination: string, options: { encryptionKey?: Uint8Array } = {}): AsyncGenerator<BufferReadEvent> {
  const dir = path.join(root, destination);
  if (!fs.existsSync(dir)) throw bufferError('BUFFER_NOT_FOUND', `no buffer for destination ${destination} under ${root}`);
  const ack = ackOf(dir);
  for (const id of listSegmentIds(dir)) {
    const at = unackedFrom(ack, id);
    if (!at) continue;
    const file = path.join(dir, segmentFileName(id));
    const fd = fs.openSync(file, 'r');
    try {
      const frames = readFrames(fd, { from: at.offset, limit: fs.fstatSync(fd).size, chunkBytes: readBufferBytesDefault, frameBytesLimit });
      for await (const ev of frames) {
        if (ev.kind !== 'frame') {
          yield { kind: 'problem', problem: `${file}: ${ev.kind === 'torn' ? 'torn frame' : ev.reason} at offset ${ev.offset}` };
          break;
        }
        const d = decodeFrame(ev.frame, options.encryptionKey);
        if (d.kind === 'corrupt') {
          yield { kind: 'problem', problem: `${file}: ${d.reason} at offset ${ev.offset}` };
          break;
        }
        if (d.kind === 'key-required') throw bufferError('BUFFER_KEY_REQUIRED', `${file} holds encrypted records; pass encryptionKey`);
        if (d.kind === 'key-mismatch') throw bufferError('BUFFER_KEY_MISMATCH', `${file}: records do not decrypt with this key`);
        yield { kind: 'record', record: d.record, segmentFile: file };
      }
    } finally {
      fs.closeSync(fd);
    }
  }
}

/**
 * Writes the unacknowledged records of one destination as JSON lines
 * `{"partitionKey","data"(base64),"capturedAt","source","seq"}` for offline
 * replay, streaming in bounded chunks. Corrupt stretches are skipped and listed.
 */
export async function exportBuffer(
  root: string, destination: string, outFile: string,
  options: { encryptionKey?: Uint8Array; /** Called with the records written so far, after each chunk. */ onProgress?: (records: number) => void } = {},
): Promise<{ records: number; problems: string[] }> {
  const records = readBufferRecords(root, destination, options);
  const first = await records.next(); // BUFFER_NOT_FOUND before the output file is made.
  const out = fs.openSync(outFile, 'w', 0o600);
  const problems: string[] = [];
  let count = 0;
  try {
    let lines: string[] = [];
    for (let ev = first; !ev.done; ev = await records.next()) {
      if (ev.value.kind === 'problem') {
        problems.push(ev.value.problem);
        continue;
      }
      lines.push(JSON.stringify(recordLine(ev.value.record)));
      count++;
      if (lines.length >= 256) {
        lines = flushLines(out, lines);
        options.onProgress?.(count);
      }
    }
    flushLines(out, lines);
    options.onProgress?.(count);
    fs.fsyncSync(out);
  } finally {
    fs.closeSync(out);
  }
  return { records: count, problems };
}

function flushLines(fd: number, lines: string[]): string[] {
  if (lines.length > 0) fs.writeSync(fd, lines.join('\n') + '\n');
  return [];
}

function capturedAtAt(file: string, offset: number): number | undefined {
  const h = Buffer.alloc(frameHeaderBytes);
  const fd = fs.openSync(file, 'r');
  try {
    return fs.readSync(fd, h, 0, h.length, offset) === h.length ? frameCapturedAtMs(h) : undefined;
  } finally {
    fs.closeSync(fd);
  }
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0; // No dead letters yet.
  }
}
