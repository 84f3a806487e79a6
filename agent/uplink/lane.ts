/**
 * One lane of an uplink (lanes.ts): the records of its share of the hash key
 * space, in buffer order, and the one request it has planned and not yet had
 * answered. A lane sends one request at a time, so a key's records are stored
 * in order; each lane has its own idempotency producer id and its own pace.
 */
import assert from 'node:assert/strict';
import type { BufferedRecord } from '../buffer/index.ts';
import { planAggregated, planPlain, type PlannedRequest } from './batch.ts';
import type { PlanParams } from './intent.ts';
import { Pacer } from './pacer.ts';

/** A record the uplink has read from the buffer and not yet settled (or settled, until the region moves past it). */
export interface Slot {
  readonly record: BufferedRecord;
  /** `<source>#<seq>`. */
  readonly id: string;
  /** Changes only when the lanes are split again, with no request of any lane sent and unanswered. */
  lane: number;
  /** Accepted by the gateway, or written to the dead-letter file. */
  done: boolean;
}

export interface LaneRequest {
  /** Batch number: the idempotency key is `<producer>/<batch>`. */
  batch: number;
  readonly plan: PlanParams;
  /** The records it carries, in lane order: the lane's first unsettled ones. */
  readonly slots: Slot[];
  readonly planned: PlannedRequest;
  /** Sent while the link was down: a probe (its failure adds to the backoff). */
  probe: boolean;
  /** Sent at least once: the gateway may have it, so it must go again unchanged until answered. */
  launched: boolean;
}

export interface PlanLimits extends PlanParams {
  /** Records to offer the planner: a request's worth, more when aggregating. */
  candidatesMax: number;
}

export class Lane {
  /** The lane's slots in buffer order; settled ones before `head` are gone, later ones are skipped. */
  private queue: Slot[] = [];
  private head = 0;
  request: LaneRequest | undefined;
  inFlight = false;
  /** No request starts before this (pace, backoff, linger). */
  notBeforeMs = 0;
  readonly pacer = new Pacer(undefined);
  /** Consecutive failures of each class, for backoff; reset by a clean answer. */
  attempts = { transient: 0, refused: 0 };
  /** Start of the current run of refusals: dead-lettering waits for it to be maxRecordAgeMs old. */
  refusedSinceMs: number | undefined;

  /** `producer`: the idempotency producer id (undefined: no keys). */
  constructor(readonly index: number, readonly producer: string | undefined) {}

  push(slot: Slot): void {
    assert.equal(slot.lane, this.index, 'a slot goes to its own lane');
    this.queue.push(slot);
  }

  /** Drops `slots` from the lane (given back to the buffer unsent); a request planned and never sent is dropped with them. */
  forget(slots: Set<Slot>): void {
    this.queue = this.queue.slice(this.head).filter((s) => !slots.has(s));
    this.head = 0;
    if (this.request && !this.request.launched) this.request = undefined;
  }

  /** The lane's unsettled slots, in order (at most `max`). */
  pending(max = Number.MAX_SAFE_INTEGER): Slot[] {
    this.skipSettled();
    const out: Slot[] = [];
    for (let i = this.head; i < this.queue.length && out.length < max; i++) if (!this.queue[i]!.done) out.push(this.queue[i]!);
    return out;
  }

  get idle(): boolean {
    this.skipSettled();
    return this.head >= this.queue.length && this.request === undefined && !this.inFlight;
  }

  /** Plans the next request from the lane's first unsettled records (`single`: one record, a probe). */
  plan(limits: PlanLimits, single: boolean): { slots: Slot[]; planned: PlannedRequest } | undefined {
    const candidates = this.pending(single ? 1 : limits.candidatesMax);
    if (candidates.length === 0) return undefined;
    const records = candidates.map((s) => s.record);
    const planned = limits.aggregate
      ? planAggregated(records, limits.batchRecordsMax, limits.batchBytesMax)
      : planPlain(records, limits.batchRecordsMax, limits.batchBytesMax);
    return { slots: candidates.slice(0, planned.records), planned };
  }

  private skipSettled(): void {
    while (this.head < this.queue.length && this.queue[this.head]!.done) this.head++;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }
}
