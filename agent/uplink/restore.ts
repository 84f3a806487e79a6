/**
 * Lines a written-down send state (intent.ts) up with the buffer after a
 * restart: finds the region's first record, reads the region's records again,
 * puts each in its lane by the saved lane map, marks the settled ones, and
 * rebuilds each lane's unanswered request exactly (same records, same plan,
 * same batch number), so that it goes again under the same idempotency key.
 * Anything that does not line up (a damaged buffer, records dropped at the
 * cap) gives up the saved state: records are then sent under new keys (at
 * worst a duplicate, never a loss).
 */
import { bufferLimits, type BufferPosition, type BufferedRecord, type DiskBuffer } from '../buffer/index.ts';
import { planAggregated, planPlain } from './batch.ts';
import { recordId, type IntentState } from './intent.ts';
import { Lane, type Slot } from './lane.ts';
import { decodeLaneMap, laneCount, laneOf } from './lanes.ts';
import { Region } from './region.ts';
import { regionRecordsMax } from './limits.ts';

export interface Restored {
  region: Region;
  lanes: Lane[];
  /** The position after the last record before the region: settled, to be acked. */
  settledBefore: BufferPosition | undefined;
}

/** Reads records of `part` after `after`, in chunks, for as long as `take` wants more. */
async function scan(buffer: DiskBuffer, part: IntentState['part'], take: (r: BufferedRecord) => boolean): Promise<void> {
  let after: BufferPosition | undefined;
  for (;;) {
    const chunk = await buffer.peek(bufferLimits.peekRecordsMax, 64 * 1024 * 1024, { part, ...(after ? { after } : {}) });
    if (chunk.length === 0) return;
    for (const r of chunk) if (!take(r)) return;
    after = chunk.at(-1)!.position;
  }
}

export async function restoreRegion(buffer: DiskBuffer, state: IntentState, producerId: string | undefined): Promise<Restored | undefined> {
  const map = decodeLaneMap(state.map);
  if (!map || state.from === undefined || state.lanes.length !== laneCount(map)) return undefined;
  const legacy = state.legacy === true;
  const runs = state.lanes.map((l) => l.runs.flatMap(([d, n]) => Array<boolean>(n).fill(d)));
  const total = runs.reduce((n, r) => n + r.length, 0);
  if (total === 0 || total > regionRecordsMax * 4) return undefined;
  let skipV1 = 0;
  const records: BufferedRecord[] = [];
  let settledBefore: BufferPosition | undefined;
  let found = false;
  let looked = 0;
  await scan(buffer, state.part, (r) => {
    const id = recordId(r);
    if (!found) {
      // A version 1 window may have been acked in part: the buffer then starts inside it.
      const k = state.v1Ids ? state.v1Ids.indexOf(id) : id === state.from ? 0 : -1;
      if (k < 0) {
        settledBefore = r.position;
        return !state.v1Ids && ++looked <= regionRecordsMax * 4;
      }
      found = true;
      skipV1 = k;
    }
    records.push(r);
    return records.length < total - skipV1;
  });
  if (!found || records.length !== total - skipV1) return undefined;
  if (skipV1 > 0 && runs[0]!.slice(0, skipV1).some((d) => !d)) return undefined; // Acked, so it must have been settled.
  const region = new Region(state.part, map, legacy);
  const lanes = state.lanes.map((_, k) => new Lane(k, producerId === undefined ? undefined : legacy ? producerId : `${producerId}/${k}`));
  const next = lanes.map((_, k) => (k === 0 ? skipV1 : 0));
  for (const r of records) {
    const lane = legacy ? 0 : laneOf(map, r);
    const done = runs[lane]![next[lane]!++];
    if (done === undefined) return undefined;
    const slot: Slot = { record: r, id: recordId(r), lane, done };
    region.add(slot);
    lanes[lane]!.push(slot);
  }
  if (next.some((n, k) => n !== runs[k]!.length)) return undefined;
  for (const [k, stored] of state.lanes.entries()) {
    const req = stored.request;
    if (!req) continue;
    const first = req.first - (k === 0 ? skipV1 : 0);
    const laneSlots = region.slotsOfLane(k);
    const slots = laneSlots.slice(Math.max(0, first)).filter((s) => !s.done).slice(0, req.count);
    if (first < 0 || slots.length !== req.count || slots[0]!.id !== req.firstId || slots.at(-1)!.id !== req.lastId) return undefined;
    const p = req.plan;
    const recs = slots.map((s) => s.record);
    const planned = p.aggregate ? planAggregated(recs, p.batchRecordsMax, p.batchBytesMax) : planPlain(recs, p.batchRecordsMax, p.batchBytesMax);
    if (planned.records !== slots.length) return undefined;
    lanes[k]!.request = { batch: req.batch, plan: p, slots, planned, probe: false, launched: true };
  }
  region.settle();
  return { region, lanes, settledBefore };
}
