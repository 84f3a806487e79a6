/**
 * The uplink: drains one destination's DiskBuffer into a gateway stream.
 *
 * Lanes, one request in flight each. The records read from the buffer (the
 * region, region.ts) are split into lanes by the stream's shards (lanes.ts):
 * a key's records always share a lane, and a lane sends its requests one at
 * a time, so per-key order holds while the lanes of a destination send side
 * by side, each at its own shard's pace (issue #15). A trickle needs no
 * lanes: they open when more than a few requests' worth of records wait, and
 * close once the backlog is gone, so a low rate still goes out in one
 * request per linger.
 *
 * Exactly once. Each lane sends under its own idempotency producer id
 * (`<producer>/<lane>`) with batch numbers from one increasing counter, and
 * every request is written down before it goes (intent.ts): a request resent
 * after a lost answer or an agent crash is answered from the gateway's
 * memory. Only records the gateway refused go again, with the lane's next
 * records, under a new number. The buffer is acked in order, lazily (at most
 * once a second): the intent file says which records are settled.
 *
 * Failures change only the pace: throttling sets a lane's pace to the records
 * its shard accepted per second (pacer.ts), a lost link turns sending into
 * probes (one request at a time, backoff between), and records the gateway
 * refuses for good (no stream, no permission) are retried slowly and, once
 * they and the refusal are older than `maxRecordAgeMs`, moved to the
 * dead-letter file. Nothing is dropped silently. With a scheduler shared by
 * the agent's uplinks, higher-priority destinations send first
 * (scheduler.ts). With `newestFirst`, an old backlog is put behind the
 * records appended since (a region belongs to one part of the buffer). See
 * docs/agent-uplink.md.
 *
 * @example
 * const uplink = new Uplink({
 *   buffer, stream: 'telemetry', endpoint: 'https://gateway.local:4567', region: 'us-east-1',
 *   credentials: { accessKeyId, secretAccessKey }, ca,
 *   producerId: 'dev-17/telemetry', intentFile: '/var/lib/tributary/uplink/telemetry.json',
 * });
 * uplink.start();
 * // ... inputs append to the buffer ...
 * await uplink.stop({ deadlineMs: 5000 });
 * await buffer.close();
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { bufferLimits, comparePositions } from '../buffer/index.ts';
import { JsonRpcClient } from '../../sdk/http/json-rpc-client.ts';
import { AwsError, TributaryError } from '../../sdk/protocol/errors.ts';
import { idempotencyHeader, parseStaleBatch } from '../../sdk/protocol/idempotency.ts';
import { wireBytes } from './batch.ts';
import { classifyRecordError, classifyRequestError, describeError } from './classify.ts';
import type { FailureClass, LinkState } from './events.ts';
import { readIntent, recordId, writeIntent, type IntentState } from './intent.ts';
import { Lane, type LaneRequest, type PlanLimits, type Slot } from './lane.ts';
import { decodeLaneMap, encodeLaneMap, evenLaneMap, laneCount, laneMapFromShards, laneOf, sameLaneMap, singleLane, type LaneMap } from './lanes.ts';
import { ackIntervalMs, lanesOpenBacklogBatches, lanesWithoutShardMap, regionBytesMax, regionRecordsMax, shardMapTtlMs } from './limits.ts';
import { resolveUplinkOptions, type ResolvedUplinkOptions, type UplinkOptions } from './options.ts';
import { Pacer, backoffMs } from './pacer.ts';
import { Region } from './region.ts';
import { restoreRegion } from './restore.ts';
import type { SchedulerSlot } from './scheduler.ts';

export interface UplinkStats {
  /** Records the gateway accepted. */
  sentRecords: number;
  /** Records sent again after a failed request or an earlier failed record. */
  retriedRecords: number;
  /** Records the gateway answered with a throttling error. */
  throttledRecords: number;
  deadLetteredRecords: number;
  requests: number;
  link: LinkState;
  lastError: { message: string; failure: FailureClass | 'fatal'; atMs: number } | undefined;
  /** Age of the oldest record still in the buffer. */
  oldestUnsentAgeMs: number | undefined;
  /** The pace the lanes keep after throttling, in records per second together (undefined: not paced). */
  pacedRecordsPerSecond: number | undefined;
  /** Lanes open now (requests that may be in flight at once). */
  lanes: number;
}

/** Beyond the request timeout, how long the uplink waits for a call to settle on its own. */
const callGraceMs = 1000;

interface PutRecordsAnswer {
  FailedRecordCount?: number;
  Records: Array<{ SequenceNumber?: string; ShardId?: string; ErrorCode?: string; ErrorMessage?: string }>;
}

/** A call that came back, waiting for the loop to handle it. */
interface Returned {
  lane: Lane;
  req: LaneRequest;
  answer?: PutRecordsAnswer;
  error?: unknown;
}

export class Uplink {
  private readonly o: ResolvedUplinkOptions;
  /** The destination's bandwidth cap (lanes pace their own records). */
  private readonly bandwidth: Pacer;
  private client: JsonRpcClient | undefined;
  private loop: Promise<void> | undefined;
  private stopping: { deadlineAtMs: number } | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private aborted = false;
  private wakeUp: (() => void) | undefined;
  /** The loop sleeps with nothing read, sent or waiting: `appended()` wakes it. */
  private idle = false;
  private link: LinkState = 'unknown';
  /** The last intent write failed: exactly-once is degraded until one succeeds. */
  private intentUnsaved = false;
  private intentDirty = false;
  /** Failed probes in a row while the link is down, and when the next may go. */
  private unreachableAttempts = 0;
  private probeNotBeforeMs = 0;
  private lastError: UplinkStats['lastError'];
  /** The last batch number used in an idempotency key (one counter for all lanes). */
  private lastBatch = 0;
  /** This uplink's place in the shared scheduler, while it runs. */
  private slot: SchedulerSlot | undefined;
  /** Newest-first: a catch-up was seen running (for the `finished` event). */
  private catchingUp = false;
  private readonly counters = { sentRecords: 0, retriedRecords: 0, throttledRecords: 0, deadLetteredRecords: 0, requests: 0 };
  private region: Region = new Region('backlog', singleLane, false);
  private lanes: Lane[] = [];
  /** Reading into the region is held back until it drains (its buffer part about to change, a version 1 window). */
  private blocked = false;
  /** No new requests are planned until the ones sent are answered (the lanes are about to be split again). */
  private holding = false;
  private readonly returned: Returned[] = [];
  private inFlight = 0;
  /** The earliest moment a waiting lane may start a request (set by each round). */
  private nextAtMs = Infinity;
  private lastAckMs = -Infinity;
  /** Ack at once (a part switch waits for it). */
  private ackNow = false;
  private shardMap: LaneMap | undefined;
  private shardMapReadAtMs = -Infinity;
  private shardMapReading = false;
  private shardMapFailed = false;
  private saved: IntentState | undefined;

  constructor(options: UplinkOptions) {
    this.o = resolveUplinkOptions(options);
    this.bandwidth = new Pacer(this.o.bandwidthBytesPerSecondMax);
    this.lanes = [this.newLane(0, false)];
  }

  /** Starts draining the buffer in the background. Once per Uplink. */
  start(): void {
    if (this.loop) throw new TributaryError('UPLINK_STATE', 'the uplink was already started');
    const o = this.o;
    this.saved = o.intentFile ? readIntent(o.intentFile) : undefined;
    // Without a saved number, start at a random one: never equal to a number a lost state directory used.
    this.lastBatch = this.saved?.lastBatch ?? randomInt(1, 2 ** 47);
    this.client = new JsonRpcClient({
      endpoint: o.endpoint, region: o.region, service: 'kinesis', targetPrefix: 'Kinesis_20131202', credentials: o.credentials,
      timeoutMs: o.requestTimeoutMs, ...(o.ca ? { ca: o.ca } : {}), ...(o.cert ? { cert: o.cert, key: o.key! } : {}),
    });
    if (o.scheduler) this.slot = o.scheduler.join(o.priority);
    this.loop = this.run();
  }

  /**
   * Keeps sending until the buffer is empty or `deadlineMs` has passed, then
   * stops; requests still in flight at the deadline are abandoned (their
   * records stay in the buffer). After this resolves the uplink touches the
   * buffer no more, so the caller may close it.
   */
  async stop(options: { deadlineMs: number }): Promise<void> {
    assert.ok(Number.isFinite(options.deadlineMs) && options.deadlineMs >= 0, 'deadlineMs must be a non-negative number');
    if (!this.loop) return;
    if (!this.stopping) {
      this.stopping = { deadlineAtMs: this.o.now() + options.deadlineMs };
      this.deadlineTimer = setTimeout(() => this.abort(), options.deadlineMs);
    }
    this.wake();
    try {
      await this.loop;
    } finally {
      clearTimeout(this.deadlineTimer);
      this.client?.close();
    }
  }

  /** Looks at the buffer now instead of after the idle poll. */
  wake(): void {
    this.wakeUp?.();
  }

  /**
   * Records were appended to the buffer: an idle uplink looks at once (it
   * polls an idle buffer only every `idleScanMs`); a busy one reads them on
   * its next round anyway, so an input appending a record at a time costs
   * no extra rounds.
   */
  appended(): void {
    if (this.idle) this.wake();
  }

  stats(): UplinkStats {
    const oldest = this.o.buffer.stats().oldestUnackedCapturedAtMs;
    const paced = this.lanes.map((l) => l.pacer.recordsPerSecond).filter(Number.isFinite);
    return {
      ...this.counters, link: this.link, lastError: this.lastError,
      oldestUnsentAgeMs: oldest === undefined ? undefined : Math.max(0, this.o.now() - oldest),
      pacedRecordsPerSecond: paced.length ? Math.round(paced.reduce((a, b) => a + b, 0)) : undefined,
      lanes: this.lanes.length,
    };
  }

  private abort(): void {
    this.aborted = true;
    // Destroys the sockets of the requests in flight: their calls reject at once.
    this.client?.close();
    this.wake();
  }

  private newLane(index: number, legacy: boolean): Lane {
    const p = this.o.producerId;
    return new Lane(index, p === undefined ? undefined : legacy ? p : `${p}/${index}`);
  }

  private async run(): Promise<void> {
    let error: string | undefined;
    try {
      await this.restore();
      await this.drain();
    } catch (err) {
      // The buffer failed (closed under us, wrong key, disk error): nothing more can be sent.
      error = describeError(err);
      this.lastError = { message: error, failure: 'fatal', atMs: this.o.now() };
    }
    if (this.slot) this.o.scheduler!.leave(this.slot);
    let unsentRecords = 0;
    try {
      this.region.settle();
      this.intentDirty = true;
      await this.saveIntent();
      if (!error) await this.ackSettled();
      unsentRecords = this.o.buffer.stats().depthRecords;
    } catch (err) {
      error ??= describeError(err);
    }
    this.o.onEvent({ type: 'stopped', unsentRecords, ...(error !== undefined ? { error } : {}) });
  }

  /** Lines the saved send state up with the buffer (restore.ts); without one, or when it does not fit, starts afresh. */
  private async restore(): Promise<void> {
    const saved = this.saved;
    this.saved = undefined;
    // The lanes of the last run stand for the shard map until ListShards answers (lanes open at once after a restart).
    const map = saved && !saved.legacy ? decodeLaneMap(saved.map) : undefined;
    if (map && laneCount(map) > 1 && laneCount(map) <= this.o.lanesMax) this.shardMap = map;
    if (!saved || saved.from === undefined) return;
    const r = await restoreRegion(this.o.buffer, saved, this.o.producerId);
    if (!r) {
      this.o.onEvent({ type: 'intent-mismatch' });
      return;
    }
    this.region = r.region;
    this.lanes = r.lanes;
    if (r.lanes.length > 1) this.o.onEvent({ type: 'lanes', lanes: r.lanes.length });
    this.region.settledPosition ??= r.settledBefore;
    this.intentDirty = true;
  }

  private async drain(): Promise<void> {
    const o = this.o;
    for (;;) {
      await this.handleReturned();
      if (!this.aborted && this.stopping && o.now() >= this.stopping.deadlineAtMs) this.abort();
      if (this.aborted) {
        if (this.inFlight === 0) return;
        await this.sleep(o.idlePollMs);
        continue;
      }
      // Stopping with the gateway unreachable: nothing can be sent, so the deadline need not be waited out
      // (a restart then takes a moment, not the whole deadline; the records stay in the buffer).
      if (this.stopping && this.link === 'down' && this.inFlight === 0) return;
      this.reshapeAtBarrier(o.now());
      await this.fill();
      if (this.region.settle()) this.intentDirty = true;
      const starting = this.planRound(o.now());
      const settled = this.region.settledPosition !== undefined;
      const ackDue = settled && (this.ackNow || this.stopping !== undefined || this.region.size === 0 || o.now() - this.lastAckMs >= ackIntervalMs);
      if (starting.length > 0 || ackDue) await this.saveIntent();
      if (ackDue) await this.ackSettled();
      for (const lane of starting) this.launch(lane);
      if (this.stopping && this.inFlight === 0 && this.region.size === 0 && this.region.exhausted && this.lanes.every((l) => l.idle)) return;
      await this.sleep(this.nextWakeMs(o.now()));
    }
  }

  private nextWakeMs(now: number): number {
    const o = this.o;
    const r = this.region;
    this.idle = false;
    if (this.ackNow) return 0;
    // More to read and room for it: go round again at once.
    if (!this.blocked && !r.exhausted && r.size < regionRecordsMax && r.bytes < regionBytesMax) return 0;
    if (r.size === 0 && this.inFlight === 0 && this.nextAtMs === Infinity && !this.stopping && this.link !== 'down' && this.lanes.every((l) => l.idle)) {
      // Nothing read, sent or due: appended() wakes the loop; the scan is a fallback (an input that does not say).
      this.idle = true;
      return Math.max(o.idlePollMs, o.idleScanMs);
    }
    return Math.max(1, Math.min(o.idlePollMs, this.nextAtMs - now));
  }

  // ------------------------------------------------------------------ region

  /** Reads records after the region into it, up to its caps, each into its lane. */
  private async fill(): Promise<void> {
    const o = this.o;
    const r = this.region;
    const first = r.first;
    if (first && comparePositions(o.buffer.cursor(r.part), first.record.position) >= 0) {
      // drop-oldest discarded records the region held: they are gone from the buffer (at the cap, by policy).
      r.dropBefore(o.buffer.cursor(r.part), comparePositions);
      this.intentDirty = true;
    }
    if (this.blocked) return;
    const roomRecords = Math.min(regionRecordsMax - r.size, bufferLimits.peekRecordsMax);
    const roomBytes = regionBytesMax - r.bytes;
    if (roomRecords <= 0 || roomBytes <= 0) return;
    const got = await o.buffer.peek(roomRecords, roomBytes, { part: r.part, ...(r.readAfter ? { after: r.readAfter } : {}) });
    const before = r.bytes;
    for (const rec of got) {
      const lane = r.legacy ? 0 : laneOf(r.map, rec);
      const slot: Slot = { record: rec, id: recordId(rec), lane, done: false };
      r.add(slot);
      this.lanes[lane]!.push(slot);
    }
    r.exhausted = got.length === 0 || (got.length < roomRecords && r.bytes - before < roomBytes - bufferLimits.recordDataBytesMax);
  }

  /**
   * Decides the shape the region should have (its buffer part, its lanes)
   * and applies it. New lanes take over once no request is sent and
   * unanswered (`holding` stops new ones meanwhile): the region's records are
   * split again by the new map, each key's unsettled records moving together,
   * in order. A new buffer part (newest-first) or the end of a version 1
   * window needs the region drained: reading is held back (`blocked`) until
   * then.
   */
  private reshapeAtBarrier(now: number): void {
    const r = this.region;
    const part = this.o.newestFirst && this.liveFirst() ? 'live' : 'backlog';
    const map = this.wantedLanes(now);
    this.blocked = r.legacy || part !== r.part;
    this.holding = false;
    if (this.blocked) {
      if (part !== r.part && !r.legacy) this.giveBackUnsent();
      const drained = r.size === 0 && this.inFlight === 0 && this.lanes.every((l) => l.idle);
      if (!drained) return;
      // Records of the old part settled but not yet acked would be read again from the new one's cursor: ack first.
      if (part !== r.part && r.settledPosition !== undefined) {
        this.ackNow = true;
        return;
      }
      const next = new Region(part, map, false, part === r.part ? r.readAfter : undefined);
      if (part === r.part) next.settledPosition = r.settledPosition;
      this.region = next;
      this.blocked = false;
      this.setLanes(map, []);
      return;
    }
    if (sameLaneMap(map, r.map)) return;
    const unanswered = this.inFlight > 0 || this.lanes.some((l) => l.request?.launched);
    if (!unanswered) {
      this.setLanes(map, r.resplit(map, (rec) => laneOf(map, rec)));
      return;
    }
    // Closing lanes can wait for a quiet moment; opening them for a backlog, or following a new shard map, cannot.
    this.holding = laneCount(map) > 1;
  }

  /** Records read ahead and never sent go back to the buffer (read again later): the region then drains quickly. */
  private giveBackUnsent(): void {
    const sent = new Set<Slot>();
    for (const l of this.lanes) if (l.request?.launched) for (const s of l.request.slots) sent.add(s);
    const dropped = this.region.truncateUnsent((s) => sent.has(s));
    if (dropped.size === 0) return;
    for (const lane of this.lanes) lane.forget(dropped);
    this.intentDirty = true;
  }

  /** New lanes for `map`, holding `slots` (per lane, in order); requests planned and never sent are dropped. */
  private setLanes(map: LaneMap, slots: Slot[][]): void {
    const before = this.lanes.length;
    this.lanes = Array.from({ length: laneCount(map) }, (_, i) => {
      const lane = this.newLane(i, false);
      for (const s of slots[i] ?? []) lane.push(s);
      return lane;
    });
    this.intentDirty = true;
    if (this.lanes.length !== before) this.o.onEvent({ type: 'lanes', lanes: this.lanes.length });
  }

  /**
   * The stream's shard map (or an even split, without one). With `lingerMs`
   * (fewer, fuller requests asked for), one lane while little waits: lanes
   * open once more than `lanesOpenBacklogBatches` requests' worth does, and
   * close when the backlog is down to one request's worth.
   */
  private wantedLanes(now: number): LaneMap {
    const o = this.o;
    if (o.lanesMax === 1) return singleLane;
    if (o.lingerMs > 0) {
      const s = o.buffer.stats();
      const open = laneCount(this.region.map) > 1;
      const backlog = open
        ? s.depthRecords > o.batchRecordsMax || s.depthBytes > o.batchBytesMax
        : s.depthRecords > lanesOpenBacklogBatches * o.batchRecordsMax || s.depthBytes > lanesOpenBacklogBatches * o.batchBytesMax;
      // Lanes close only at a barrier the region reaches by itself (reading is never held back for that).
      if (!backlog) return singleLane;
    }
    this.readShardMap(now);
    return this.shardMap ?? (this.shardMapFailed ? evenLaneMap(Math.min(lanesWithoutShardMap, o.lanesMax)) : this.region.map);
  }

  /** Reads the stream's open shards in the background (ListShards), at most every `shardMapTtlMs`. */
  private readShardMap(now: number): void {
    if (this.shardMapReading || now - this.shardMapReadAtMs < shardMapTtlMs || !this.client) return;
    this.shardMapReading = true;
    this.shardMapReadAtMs = now;
    this.listOpenShards().then(
      (shards) => {
        this.shardMap = laneMapFromShards(shards, this.o.lanesMax);
        this.shardMapFailed = this.shardMap === undefined;
      },
      (err) => {
        // Without the map (no permission, an older gateway) lanes split the hash key space evenly: order per key still holds.
        this.shardMapFailed = true;
        this.o.onEvent({ type: 'shard-map-unavailable', error: describeError(err) });
      },
    ).finally(() => {
      this.shardMapReading = false;
      this.wake();
    });
  }

  private async listOpenShards(): Promise<Array<{ StartingHashKey: string }>> {
    type Page = { Shards?: Array<{ HashKeyRange: { StartingHashKey: string }; SequenceNumberRange?: { EndingSequenceNumber?: string } }>; NextToken?: string };
    const out: Array<{ StartingHashKey: string }> = [];
    let token: string | undefined;
    for (let page = 0; page < 100; page++) {
      const r: Page = await this.client!.call<Page>('ListShards', token ? { NextToken: token } : { StreamName: this.o.stream });
      for (const s of r.Shards ?? []) if (!s.SequenceNumberRange?.EndingSequenceNumber) out.push({ StartingHashKey: s.HashKeyRange.StartingHashKey });
      token = r.NextToken;
      if (!token) break;
    }
    return out;
  }

  /**
   * Newest-first: starts a catch-up when the link is up and more than a
   * batch waits with the oldest record at least `catchUpAgeMs` old; says
   * whether the next region comes from the live part (it does while that
   * part has records; the backlog follows).
   */
  private liveFirst(): boolean {
    const o = this.o;
    const b = o.buffer;
    let c = b.catchUp();
    if (!c && this.catchingUp) {
      this.catchingUp = false;
      o.onEvent({ type: 'catch-up', state: 'finished', backlogRecords: 0 });
    }
    if (!c && this.link === 'up') {
      const s = b.stats();
      const old = s.oldestUnackedCapturedAtMs !== undefined && o.now() - s.oldestUnackedCapturedAtMs >= o.catchUpAgeMs;
      if (old && (s.depthRecords > o.batchRecordsMax || s.depthBytes > o.batchBytesMax) && b.startCatchUp()) {
        c = b.catchUp()!;
        o.onEvent({ type: 'catch-up', state: 'started', backlogRecords: c.backlogRecords });
      }
    }
    if (c) this.catchingUp = true;
    return c !== undefined && c.liveRecords > 0;
  }

  // ------------------------------------------------------------------ requests

  private limits(): PlanLimits {
    const o = this.o;
    // Aggregated, a request's 500 entries carry many records each: offer as many as the bytes allow.
    return { aggregate: o.aggregate, batchRecordsMax: o.batchRecordsMax, batchBytesMax: o.batchBytesMax, candidatesMax: o.aggregate ? bufferLimits.peekRecordsMax : o.batchRecordsMax };
  }

  /** The lanes whose request may start now (planned, numbered, paced and charged); sets `nextAtMs`. */
  private planRound(now: number): Lane[] {
    this.nextAtMs = Infinity;
    if (this.link === 'down') return this.planProbe(now);
    this.updateSlot();
    const out: Lane[] = [];
    for (const lane of this.byOldest()) {
      if (lane.inFlight) continue;
      if (lane.notBeforeMs > now) {
        this.nextAtMs = Math.min(this.nextAtMs, lane.notBeforeMs);
        continue;
      }
      // Holding for new lanes: only requests the gateway may already have go (again).
      if (this.holding && !lane.request?.launched) continue;
      if (!lane.request && !this.planLane(lane, now)) continue;
      const paced = lane.pacer.delayMs(now);
      if (paced > 0) {
        this.nextAtMs = Math.min(this.nextAtMs, now + paced);
        continue;
      }
      const shared = Math.max(this.bandwidth.delayMs(now), this.turnDelayMs(now));
      if (shared > 0) {
        // Looks again soon: the uplinks ahead of this one may run dry before its turn comes.
        this.nextAtMs = Math.min(this.nextAtMs, now + Math.min(shared, this.o.idlePollMs));
        break;
      }
      this.charge(lane, now);
      out.push(lane);
    }
    return out;
  }

  /**
   * The lanes, the one holding the oldest unsettled record first: when only
   * some may send (a priority turn, the bandwidth cap), the oldest records go
   * first and the buffer's ack position moves.
   */
  private byOldest(): Lane[] {
    if (this.lanes.length === 1) return this.lanes;
    const first = (l: Lane) => l.request?.slots[0] ?? l.pending(1)[0];
    return this.lanes.map((l) => ({ l, s: first(l) })).sort((a, b) => {
      if (!a.s || !b.s) return a.s ? -1 : b.s ? 1 : 0;
      return comparePositions(a.s.record.position, b.s.record.position);
    }).map((x) => x.l);
  }

  /** Gives `lane` a request of its first unsettled records, unless they should linger for more. */
  private planLane(lane: Lane, now: number): boolean {
    const o = this.o;
    const limits = this.limits();
    const p = lane.plan(limits, false);
    if (!p) return false;
    const { slots, planned } = p;
    if (o.lingerMs > 0 && !this.stopping && this.link === 'up' && this.region.exhausted && slots.length < o.batchRecordsMax && planned.bytes < o.batchBytesMax / 2) {
      // Not full: wait for more records, until the oldest has lingered long enough. A backlog (old records) never waits.
      const waitMs = slots[0]!.record.capturedAtMs + o.lingerMs - now;
      if (waitMs > 0) {
        this.nextAtMs = Math.min(this.nextAtMs, now + Math.min(waitMs, o.lingerMs));
        return false;
      }
    }
    lane.request = { batch: ++this.lastBatch, plan: { aggregate: limits.aggregate, batchRecordsMax: limits.batchRecordsMax, batchBytesMax: limits.batchBytesMax }, slots, planned, probe: false, launched: false };
    this.intentDirty = true;
    return true;
  }

  /**
   * The link is down: one probe at a time, after the backoff: the request of
   * the lane holding the region's oldest unsettled record, or that record alone.
   */
  private planProbe(now: number): Lane[] {
    if (this.inFlight > 0) return [];
    if (now < this.probeNotBeforeMs) {
      this.nextAtMs = this.probeNotBeforeMs;
      return [];
    }
    const first = this.lanes.map((l) => l.pending(1)[0]).filter((s): s is Slot => s !== undefined)
      .sort((a, b) => comparePositions(a.record.position, b.record.position))[0];
    const lane = first ? this.lanes[first.lane]! : this.lanes.find((l) => l.request);
    if (!lane) return [];
    if (!lane.request) {
      const limits = this.limits();
      const p = lane.plan(limits, true)!;
      lane.request = { batch: ++this.lastBatch, plan: { aggregate: limits.aggregate, batchRecordsMax: limits.batchRecordsMax, batchBytesMax: limits.batchBytesMax }, ...p, probe: true, launched: false };
      this.intentDirty = true;
    }
    lane.request.probe = true;
    const wait = this.bandwidth.delayMs(now);
    if (wait > 0) {
      this.nextAtMs = now + wait;
      return [];
    }
    this.charge(lane, now);
    return [lane];
  }

  /** The request of `lane` starts now: its pace, the destination's bandwidth and the shared link pay for it. */
  private charge(lane: Lane, now: number): void {
    const req = lane.request!;
    const bytes = wireBytes(req.planned, this.o.stream);
    lane.pacer.started(now, req.slots.length, bytes);
    this.bandwidth.started(now, req.slots.length, bytes);
    if (this.slot) this.o.scheduler!.started(this.slot, now, bytes);
  }

  /** With a scheduler: reports this uplink's backlog and health. */
  private updateSlot(): void {
    const slot = this.slot;
    if (!slot) return;
    const o = this.o;
    const s = o.buffer.stats();
    slot.backlogBatches = Math.max(Math.ceil(s.depthRecords / o.batchRecordsMax), Math.ceil(s.depthBytes / o.batchBytesMax));
    slot.healthy = this.link !== 'down' && this.lanes.every((l) => l.attempts.transient === 0 && l.refusedSinceMs === undefined);
  }

  private turnDelayMs(now: number): number {
    return this.slot ? this.o.scheduler!.delayMs(this.slot, now) : 0;
  }

  private launch(lane: Lane): void {
    const req = lane.request!;
    req.launched = true;
    lane.inFlight = true;
    this.inFlight++;
    this.counters.requests++;
    const entries = req.planned.entries.map(({ records: _records, ...entry }) => entry);
    this.call(entries, lane.producer, req.batch).then(
      (answer) => void this.returned.push({ lane, req, answer }),
      (error: unknown) => void this.returned.push({ lane, req, error }),
    ).finally(() => this.wake());
  }

  /**
   * One PutRecords call, bounded in time even if a reset socket never
   * settles the call: the client's own timeout plus a grace period. With a
   * producer id, the batch number goes along as the idempotency key.
   */
  private call(Records: unknown[], producer: string | undefined, batch: number): Promise<PutRecordsAnswer> {
    const limitMs = this.o.requestTimeoutMs + callGraceMs;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TributaryError('UPLINK_TIMEOUT', `PutRecords got no answer within ${limitMs} ms`)), limitMs);
    });
    const headers: Record<string, string> = producer ? { [idempotencyHeader]: `${producer}/${batch}` } : {};
    const call = this.client!.call<PutRecordsAnswer>('PutRecords', { StreamName: this.o.stream, Records }, headers).then((answer) => {
      // A peer's malformed answer is an operating error (treated like a broken link), not a crash.
      if (!Array.isArray(answer?.Records) || answer.Records.length !== Records.length) {
        throw new TributaryError('UPLINK_BAD_ANSWER', `PutRecords answered ${Array.isArray(answer?.Records) ? answer.Records.length : 'no'} results for ${Records.length} entries`);
      }
      return answer;
    });
    return Promise.race([call, expired]).finally(() => clearTimeout(timer));
  }

  // ------------------------------------------------------------------ answers

  private async handleReturned(): Promise<void> {
    while (this.returned.length > 0) {
      const { lane, req, answer, error } = this.returned.shift()!;
      lane.inFlight = false;
      this.inFlight--;
      // Stopped mid-request: the records stay in the buffer, the request (written down) goes again next time.
      if (this.aborted) continue;
      if (answer) await this.answered(lane, req, answer);
      else await this.requestFailed(lane, req, error);
    }
  }

  /** The gateway answered: the accepted records are settled; the lane's next request carries the rest. */
  private async answered(lane: Lane, req: LaneRequest, answer: PutRecordsAnswer): Promise<void> {
    const now = this.o.now();
    // An answer uses up the batch number: what is left goes under a new one.
    lane.request = undefined;
    this.intentDirty = true;
    this.markUp();
    const failureOf = new Map<Slot, FailureClass>();
    let accepted = 0;
    let throttled = 0;
    let firstFailed: PutRecordsAnswer['Records'][number] | undefined;
    answer.Records.forEach((r, k) => {
      const entry = req.planned.entries[k]!;
      if (typeof r.SequenceNumber === 'string' && r.ErrorCode === undefined) {
        for (const i of entry.records) req.slots[i]!.done = true;
        accepted += entry.records.length;
        return;
      }
      firstFailed ??= r;
      const failure = classifyRecordError(r.ErrorCode ?? 'InternalFailure');
      for (const i of entry.records) failureOf.set(req.slots[i]!, failure);
      if (failure === 'throttled') throttled += entry.records.length;
    });
    this.counters.sentRecords += accepted;
    lane.pacer.answered(now, accepted, throttled);
    if (failureOf.size === 0) {
      lane.attempts = { transient: 0, refused: 0 };
      lane.refusedSinceMs = undefined;
      return;
    }
    this.counters.retriedRecords += failureOf.size;
    const message = `${firstFailed?.ErrorCode ?? 'InternalFailure'}: ${firstFailed?.ErrorMessage ?? ''}`;
    const first = lane.pending(1)[0];
    const failure = first ? failureOf.get(first) : undefined;
    this.lastError = { message, failure: failure ?? 'transient', atMs: now };
    if (throttled > 0) this.noteThrottled(throttled);
    if (failure === 'refused') return this.refused(lane, (s) => failureOf.get(s) === 'refused', message);
    if (failure === 'transient') this.retryLater(lane, 'transient', failureOf.size, message);
  }

  /** The request got no answer, or an error for all of it: the same request (and key) goes again. */
  private async requestFailed(lane: Lane, req: LaneRequest, err: unknown): Promise<void> {
    const gatewayLast = err instanceof AwsError && err.type === 'InvalidArgumentException' ? parseStaleBatch(err.message) : undefined;
    if (gatewayLast !== undefined && lane.producer) {
      // The gateway knows a later batch of this lane than this one: our numbering was lost (a new state
      // directory started low). Nothing of this request was stored; continue above its number.
      this.lastBatch = Math.max(this.lastBatch, gatewayLast);
      req.batch = ++this.lastBatch;
      this.intentDirty = true;
      this.o.onEvent({ type: 'retry', failure: 'transient', records: req.slots.length, delayMs: 0, error: describeError(err) });
      return;
    }
    const failure = classifyRequestError(err);
    const message = describeError(err);
    const now = this.o.now();
    this.lastError = { message, failure, atMs: now };
    this.counters.retriedRecords += req.slots.length;
    if (failure === 'unreachable') return this.unreachable(req, message);
    this.markUp();
    if (failure === 'throttled') {
      lane.pacer.answered(now, 0, req.slots.length);
      return this.noteThrottled(req.slots.length);
    }
    const inRequest = new Set(req.slots);
    return this.refused(lane, (s) => inRequest.has(s), message);
  }

  /** The gateway could not be reached: the link is down, probes follow after a backoff (a failed probe doubles it). */
  private unreachable(req: LaneRequest, message: string): void {
    const wasDown = this.link === 'down';
    this.markDown(message);
    // The requests in flight when the link went fail together: the first of them and each probe count.
    if (req.probe || !wasDown) this.unreachableAttempts++;
    const delayMs = backoffMs(Math.max(1, this.unreachableAttempts), this.o.retryBaseMs, this.o.retryMaxMs);
    this.probeNotBeforeMs = Math.max(this.probeNotBeforeMs, this.o.now() + delayMs);
    this.o.onEvent({ type: 'retry', failure: 'unreachable', records: req.slots.length, delayMs, error: message });
  }

  private noteThrottled(records: number): void {
    this.counters.throttledRecords += records;
    this.o.onEvent({ type: 'throttled', records, pacedRecordsPerSecond: this.stats().pacedRecordsPerSecond });
  }

  private retryLater(lane: Lane, failure: 'transient' | 'refused', records: number, error: string): void {
    const attempt = ++lane.attempts[failure];
    const delayMs = backoffMs(attempt, this.o.retryBaseMs, this.o.retryMaxMs);
    lane.notBeforeMs = this.o.now() + delayMs;
    this.o.onEvent({ type: 'retry', failure, records, delayMs, error });
  }

  /**
   * The lane's first unsettled records were refused for good. The run of
   * them older than maxRecordAgeMs goes to the dead-letter file (and counts
   * as settled) once the refusals have lasted that long too; the rest wait
   * and are retried slowly.
   */
  private async refused(lane: Lane, isRefused: (s: Slot) => boolean, reason: string): Promise<void> {
    const now = this.o.now();
    lane.refusedSinceMs ??= now;
    const maxAge = this.o.maxRecordAgeMs;
    const pending = lane.pending();
    let k = 0;
    if (now - lane.refusedSinceMs >= maxAge) {
      while (k < pending.length && isRefused(pending[k]!) && now - pending[k]!.record.capturedAtMs >= maxAge) k++;
    }
    if (k === 0) return this.retryLater(lane, 'refused', lane.request?.slots.length ?? pending.length, reason);
    const doomed = pending.slice(0, k);
    await this.o.buffer.deadLetter(doomed.map((s) => s.record), reason);
    for (const s of doomed) s.done = true;
    lane.request = undefined; // What is left is a different request.
    this.intentDirty = true;
    this.counters.deadLetteredRecords += doomed.length;
    this.o.onEvent({ type: 'dead-lettered', records: doomed.length, reason });
  }

  private markUp(): void {
    this.unreachableAttempts = 0;
    this.probeNotBeforeMs = 0;
    if (this.link === 'up') return;
    this.link = 'up';
    this.o.onEvent({ type: 'link', state: 'up' });
  }

  private markDown(error: string): void {
    if (this.link === 'down') return;
    this.link = 'down';
    this.o.onEvent({ type: 'link', state: 'down', error });
  }

  // ------------------------------------------------------------------ disk

  /**
   * Writes the send state down when it changed (before requests go, and
   * before the buffer is acked). When the disk refuses even after the disk
   * guard gave up its reserve, sending goes on (draining is what frees the
   * disk); until a write succeeds again, a crash may duplicate records.
   */
  private async saveIntent(): Promise<void> {
    if (!this.o.intentFile || !this.intentDirty) return;
    this.intentDirty = false;
    const r = this.region;
    const state: IntentState = {
      lastBatch: this.lastBatch, map: encodeLaneMap(r.map), part: r.part,
      ...(r.first ? { from: r.first.id } : {}), ...(r.legacy ? { legacy: true as const } : {}),
      lanes: r.describeLanes(this.lanes),
    };
    const space = this.o.space;
    try {
      await writeIntent(this.o.intentFile, state, this.o.intentSync, space && ((e) => space.noSpace(e)));
    } catch (err) {
      this.intentDirty = true;
      if (!this.intentUnsaved) this.o.onEvent({ type: 'intent-unsaved', error: describeError(err) });
      this.intentUnsaved = true;
      return;
    }
    if (this.intentUnsaved) this.o.onEvent({ type: 'intent-saved' });
    this.intentUnsaved = false;
  }

  /** Acks the buffer through the settled records (the intent file already says they are settled). */
  private async ackSettled(): Promise<void> {
    const p = this.region.settledPosition;
    this.ackNow = false;
    if (!p) return;
    await this.o.buffer.ack(p);
    if (this.region.settledPosition === p) this.region.settledPosition = undefined;
    this.lastAckMs = this.o.now();
  }

  /**
   * Waits `ms` (never past the stop deadline); `wake()`, an answer and
   * stopping end the wait early. Always yields to timers and I/O, even for 0.
   */
  private sleep(ms: number): Promise<void> {
    if (this.stopping) ms = Math.min(ms, Math.max(0, this.stopping.deadlineAtMs - this.o.now()));
    if (ms <= 0 || this.returned.length > 0) return new Promise((resolve) => setImmediate(resolve));
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        if (this.wakeUp === done) this.wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }
}
