/**
 * The serial input's stored dedup state, one file per port in the input's
 * state directory: the MCU's boot id and the window of sequence numbers
 * whose records are durable (`DedupSnapshot`, PROTOCOL.md section 5.6).
 * Loaded once at start; written atomically (tmp, fsync, rename, directory
 * fsync), like the file tail's checkpoint, after each append batch and
 * before its acks. The session only ever puts seqs in it whose append has
 * resolved, so the file never claims a frame the buffer does not hold.
 */
import fs from 'node:fs';
import path from 'node:path';
import { dedupWindowSizeDefault, type DedupSnapshot } from '../../firmware-bridge/index.ts';
import { inputError } from './common.ts';
import { writeFileAtomic } from '../../sdk/fs/atomic-file.ts';

const stateVersion = 1;

export function serialStateFile(stateDir: string, portName: string): string {
  return path.join(stateDir, `serial-${portName}.dedup.json`);
}

/** The stored state, or undefined when there is none yet. A file it cannot read is an error: moving it aside starts over. */
export function loadSerialState(file: string): DedupSnapshot | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const invalid = (why: string, cause?: unknown) => inputError(
    'INPUT_STATE_INVALID',
    `${file}: ${why}; move it aside to start over (frames the MCU retransmits after the restart may then be stored twice)`,
    cause,
  );
  let o: { version?: unknown; bootId?: unknown; highest?: unknown; windowSize?: unknown; bits?: unknown };
  try {
    o = JSON.parse(text) as typeof o;
  } catch (err) {
    throw invalid('not JSON', err);
  }
  if (o.version !== stateVersion) throw invalid(`unknown state version ${String(o.version)}`);
  const u32 = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) <= 0xffffffff;
  if (!u32(o.bootId) || !u32(o.highest)) throw invalid('bootId and highest must be 32-bit unsigned integers');
  if (o.windowSize !== dedupWindowSizeDefault) throw invalid(`window size ${String(o.windowSize)} is not ${dedupWindowSizeDefault}`);
  if (!Array.isArray(o.bits) || o.bits.length !== dedupWindowSizeDefault / 32 || !o.bits.every(u32)) {
    throw invalid(`bits must be ${dedupWindowSizeDefault / 32} 32-bit unsigned integers`);
  }
  return { bootId: o.bootId as number, highest: o.highest as number, windowSize: o.windowSize, bits: o.bits as number[] };
}

export async function saveSerialState(file: string, snapshot: DedupSnapshot): Promise<void> {
  await writeFileAtomic(file, JSON.stringify({ version: stateVersion, ...snapshot }));
}
