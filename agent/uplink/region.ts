/**
 * The region: the records an uplink has read from its buffer and not yet
 * settled, in buffer order, each assigned to a lane. Lanes settle their
 * records in any order; the buffer can only be acked in order, so the region
 * keeps the settled prefix apart (what may be acked) from the rest (what the
 * intent file must describe). See intent.ts for how it is written down.
 */
import type { BufferPart, BufferPosition, BufferedRecord } from '../buffer/index.ts';
import type { DoneRuns, StoredLane } from './intent.ts';
import type { Lane, Slot } from './lane.ts';
import type { LaneMap } from './lanes.ts';

export class Region {
  private slots: Slot[] = [];
  private head = 0;
  /** Bytes (data and keys) of the slots from `head` on. */
  bytes = 0;
  /** Where the next read continues: after the last record read (undefined: at the part's cursor). */
  readAfter: BufferPosition | undefined;
  /** The last read found the end of the part: nothing more to read for now. */
  exhausted = false;
  /** The position after the last settled record, not yet acked in the buffer. */
  settledPosition: BufferPosition | undefined;
  /** The position after the last record that left the region settled (kept after the ack). */
  private settledThrough: BufferPosition | undefined;

  /** Where reading started (carried over from the previous region of the same part). */
  readAfterAtStart: BufferPosition | undefined;

  constructor(readonly part: BufferPart, public map: LaneMap, readonly legacy: boolean, readAfter?: BufferPosition) {
    this.readAfter = readAfter;
    this.readAfterAtStart = readAfter;
  }

  get size(): number {
    return this.slots.length - this.head;
  }

  get first(): Slot | undefined {
    return this.slots[this.head];
  }

  add(slot: Slot): void {
    this.slots.push(slot);
    this.bytes += recordBytes(slot.record);
    this.readAfter = slot.record.position;
  }

  /**
   * Puts every slot in its lane by `map` (settled ones too, so the intent
   * file describes the whole region by one map) and returns the lanes' slots
   * in order. Only while no request of any lane is sent and unanswered: a
   * key's unsettled records then move together, in order.
   */
  resplit(map: LaneMap, laneOf: (r: BufferedRecord) => number): Slot[][] {
    this.map = map;
    const out: Slot[][] = map.starts.map(() => []);
    for (let i = this.head; i < this.slots.length; i++) {
      const s = this.slots[i]!;
      s.lane = laneOf(s.record);
      out[s.lane]!.push(s);
    }
    return out;
  }

  /**
   * Gives back the records at the end of the region that were never sent
   * (`sent` false for each): reading continues after the last record kept.
   * Returns them, for the lanes to forget. A newest-first switch to the live
   * part then waits only for what is sent, not for all that was read ahead.
   */
  truncateUnsent(sent: (s: Slot) => boolean): Set<Slot> {
    let last = this.slots.length - 1;
    while (last >= this.head && !this.slots[last]!.done && !sent(this.slots[last]!)) last--;
    const dropped = new Set(this.slots.splice(last + 1));
    for (const s of dropped) this.bytes -= recordBytes(s.record);
    if (dropped.size > 0) {
      this.readAfter = last >= this.head ? this.slots[last]!.record.position : this.settledThrough ?? this.readAfterAtStart;
      this.exhausted = false;
    }
    return dropped;
  }

  /** Lane `lane`'s slots in the region, in order. */
  slotsOfLane(lane: number): Slot[] {
    const out: Slot[] = [];
    for (let i = this.head; i < this.slots.length; i++) if (this.slots[i]!.lane === lane) out.push(this.slots[i]!);
    return out;
  }

  /** Moves past the settled slots at the front; true when it moved. */
  settle(): boolean {
    const start = this.head;
    while (this.head < this.slots.length && this.slots[this.head]!.done) {
      const s = this.slots[this.head++]!;
      this.bytes -= recordBytes(s.record);
      this.settledPosition = s.record.position;
      this.settledThrough = s.record.position;
    }
    if (this.head > 4096 && this.head * 2 > this.slots.length) {
      this.slots = this.slots.slice(this.head);
      this.head = 0;
    }
    return this.head > start;
  }

  /**
   * Drops the slots the buffer no longer holds (drop-oldest discarded them):
   * those at or before `cursor`. They count as settled; a request already
   * carrying one still goes out (the data is in memory).
   */
  dropBefore(cursor: BufferPosition, compare: (a: BufferPosition, b: BufferPosition) => number): number {
    let n = 0;
    for (let i = this.head; i < this.slots.length && compare(this.slots[i]!.record.position, cursor) <= 0; i++) {
      if (!this.slots[i]!.done) n++;
      this.slots[i]!.done = true;
    }
    this.settle();
    return n;
  }

  /** Per lane: its slots' settled flags as runs, and where its planned request starts (for the intent file). */
  describeLanes(lanes: readonly Lane[]): StoredLane[] {
    const runs: DoneRuns[] = lanes.map(() => []);
    const seen = lanes.map(() => 0);
    const firstAt = lanes.map(() => -1);
    for (let i = this.head; i < this.slots.length; i++) {
      const s = this.slots[i]!;
      const r = runs[s.lane]!;
      const last = r.at(-1);
      if (last && last[0] === s.done) last[1]++;
      else r.push([s.done, 1]);
      if (lanes[s.lane]!.request?.slots[0] === s) firstAt[s.lane] = seen[s.lane]!;
      seen[s.lane]!++;
    }
    return lanes.map((lane, k) => {
      const req = lane.request;
      // A request whose first record left the region (dropped from the buffer) cannot be described: it is not written down.
      if (!req || firstAt[k]! < 0) return { runs: runs[k]! };
      return { runs: runs[k]!, request: { batch: req.batch, plan: req.plan, first: firstAt[k]!, count: req.slots.length, firstId: req.slots[0]!.id, lastId: req.slots.at(-1)!.id } };
    });
  }
}

export function recordBytes(r: BufferedRecord): number {
  return r.data.length + Buffer.byteLength(r.partitionKey);
}
