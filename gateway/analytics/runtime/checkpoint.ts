/**
 * An application's checkpoint (<dataDir>/analytics/<dir>/checkpoint.json,
 * replaced atomically): per input, the source positions up to which every
 * record has been processed and every output row derived from it delivered;
 * and, when the engine can snapshot, the operators' state at that point.
 * StopApplication writes one (LAST_STOPPED_POINT), and so does a running
 * application every `checkpointIntervalMs`; a gateway restart resumes from
 * the last one; on `nats` the checkpoint is a KV key, so the process that
 * takes a running application over (runner.ts) resumes from it. (The engine keeps no snapshot of its operators yet, so
 * windows open at a restart start empty.)
 */
import type { MetadataStore } from '../../storage/types.ts';
import type { SourcePositions } from './sources.ts';

export interface Checkpoint {
  version: 1;
  savedMs: number;
  /** Input id -> positions. */
  inputs: Record<string, SourcePositions>;
}

/** The checkpoint in `store` (Storage.jobState: the file on `local`, a KV key every process reads on `nats`). */
export async function readCheckpoint(store: MetadataStore<Checkpoint>): Promise<Checkpoint | undefined> {
  const c = await store.load();
  return c?.version === 1 ? c : undefined;
}

export async function writeCheckpoint(store: MetadataStore<Checkpoint>, c: Checkpoint): Promise<void> {
  await store.save(c);
}
