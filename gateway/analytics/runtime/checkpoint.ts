/**
 * An application's checkpoint (<dataDir>/analytics/<dir>/checkpoint.json,
 * replaced atomically): per input, the source positions up to which every
 * record has been processed and every output row derived from it delivered;
 * and, when the engine can snapshot, the operators' state at that point.
 * StopApplication writes one (LAST_STOPPED_POINT), and so does a running
 * application every `checkpointIntervalMs`; a gateway restart resumes from
 * the last one. (The engine keeps no snapshot of its operators yet, so
 * windows open at a restart start empty.)
 */
import fsp from 'node:fs/promises';
import { writeFileAtomic } from '../../../sdk/fs/atomic-file.ts';
import type { SourcePositions } from './sources.ts';

export interface Checkpoint {
  version: 1;
  savedMs: number;
  /** Input id -> positions. */
  inputs: Record<string, SourcePositions>;
}

export async function readCheckpoint(file: string): Promise<Checkpoint | undefined> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const c = JSON.parse(text) as Checkpoint;
  return c.version === 1 ? c : undefined;
}

export async function writeCheckpoint(file: string, c: Checkpoint): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(c));
}
