/**
 * A shard log on NATS JetStream: one JetStream stream per shard, one message
 * per record, the record's counter = its JetStream sequence - 1 (so a Kinesis
 * sequence number names a message and reads by counter are reads by
 * sequence). docs/storage.md, "JetStream", has the naming and the reasons.
 *
 * Order across gateway processes: every message carries the stream's last
 * sequence as this writer expects it (`Nats-Expected-Last-Sequence` =
 * the record's counter), which the stream leader checks before it stores the
 * message. So the counter `append` hands out synchronously is exactly the
 * sequence the record gets, and two processes appending to one shard can
 * never both take a counter: one is refused with SHARD_LOG_CONFLICT, the log
 * re-reads the stream's end, and the client's retry lands after the other
 * writer's records. Appends of one process are pipelined; each message after
 * the first also names its predecessor (`Nats-Expected-Last-Msg-Id`), so once
 * one message of a pipeline is refused, every later one is refused too, and
 * none can land after a gap (where the other writer happened to take exactly
 * the refused message's place). docs/storage.md ("JetStream") says why this
 * rather than one owner per shard.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { JetStreamClient, JetStreamManager, StoredMsg } from '@nats-io/jetstream';
import { TributaryError } from '../../../sdk/protocol/errors.ts';
import type { AppendEntry, AppendResult, ReadOptions, ReadResult, ShardLog, StoredRecord } from '../types.ts';

/** A record's payload: flags (1), partition key length (2), arrival ms (8), partition key, data. */
const headBytes = 11;

export function encodeRecord(e: AppendEntry, arrivalMs: number): Uint8Array {
  const key = Buffer.from(e.partitionKey, 'utf8');
  const out = Buffer.allocUnsafe(headBytes + key.length + e.data.length);
  out.writeUInt8(e.flags, 0);
  out.writeUInt16BE(key.length, 1);
  out.writeBigUInt64BE(BigInt(arrivalMs), 3);
  key.copy(out, headBytes);
  e.data.copy(out, headBytes + key.length);
  return out;
}

export function decodeRecord(seq: number, bytes: Uint8Array): StoredRecord {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  assert.ok(b.length >= headBytes, `shard log message ${seq} is too short`);
  const keyLength = b.readUInt16BE(1);
  return {
    counter: seq - 1,
    flags: b.readUInt8(0),
    arrivalMs: Number(b.readBigUInt64BE(3)),
    partitionKey: b.toString('utf8', headBytes, headBytes + keyLength),
    // A copy: the message buffer belongs to the client.
    data: Buffer.from(b.subarray(headBytes + keyLength)),
  };
}

export interface NatsShardLogOptions {
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** The JetStream stream of this shard. */
  stream: string;
  /** The one subject its records are published on. */
  subject: string;
  replicas: number;
  /** 0: kept until trimmed. */
  retentionMs: number;
  now: () => number;
}

/** Requests of a read sent at once. */
const readWindow = 64;

function isNotFound(err: unknown): boolean {
  const e = err as { code?: unknown; api_error?: { err_code?: number }; message?: string };
  return e?.api_error?.err_code === 10037 || e?.code === 404 || /no message found/i.test(String(e?.message));
}

export class NatsShardLog implements ShardLog {
  readonly shared = true;
  nextCounter = 0;
  durableCounter = 0;
  lastArrivalMs = 0;
  private first = 0;
  /** Message ids: a token per run of appends since the last re-read of the end, and the id of our newest message. */
  private writerToken = '';
  private previousMsgId: string | undefined;
  /** Appends acknowledged in order: each batch's durability waits on the one before. */
  private tail: Promise<void> = Promise.resolve();
  private inFlight = 0;
  /** Set when an append was refused; appends fail fast until the log has re-read the stream's end. */
  private resync: Promise<void> | undefined;
  private closed = false;

  private constructor(private readonly o: NatsShardLogOptions) {}

  static async open(o: NatsShardLogOptions): Promise<NatsShardLog> {
    const config = {
      name: o.stream,
      subjects: [o.subject],
      num_replicas: o.replicas,
      max_age: o.retentionMs * 1_000_000, // nanoseconds
      storage: 'file',
      retention: 'limits',
      discard: 'old',
      max_msgs_per_subject: -1,
      duplicate_window: 1_000_000_000, // ids only chain our own messages: ids are never reused, so keep the window small
      allow_direct: false, // reads go to the leader, which holds every acknowledged message
    } as const;
    try {
      const info = await o.jsm.streams.info(o.stream);
      // The retention may have changed since the stream was made (in this process or another).
      if (info.config.max_age !== config.max_age) await o.jsm.streams.update(o.stream, { ...info.config, max_age: config.max_age });
    } catch (err) {
      if (!/stream not found/i.test(String((err as Error).message)) && (err as { code?: unknown }).code !== 404) throw err;
      await o.jsm.streams.add(config as never);
    }
    const log = new NatsShardLog(o);
    await log.refreshEnd();
    return log;
  }

  /** Re-reads the stream's first and last sequence and the newest record's arrival time. */
  private async refreshEnd(): Promise<void> {
    const info = await this.o.jsm.streams.info(this.o.stream);
    const last = info.state.last_seq;
    this.first = Math.max(0, info.state.first_seq - 1);
    if (info.state.messages === 0) this.first = last;
    this.nextCounter = last;
    this.durableCounter = last;
    this.writerToken = randomBytes(6).toString('hex');
    this.previousMsgId = undefined;
    if (last > 0 && last > this.first) {
      const m = await this.getMessage(last);
      if (m) this.lastArrivalMs = Math.max(this.lastArrivalMs, decodeRecord(last, m.data).arrivalMs);
    }
  }

  private async getMessage(seq: number): Promise<StoredMsg | null> {
    try {
      return await this.o.jsm.streams.getMessage(this.o.stream, { seq });
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  append(entries: AppendEntry[]): AppendResult {
    assert.ok(!this.closed, 'append after close');
    assert.ok(entries.length > 0);
    const arrivalMs = Math.max(this.o.now(), this.lastArrivalMs);
    const firstCounter = this.nextCounter;
    if (this.resync) {
      const durable = Promise.reject(new TributaryError('SHARD_LOG_CONFLICT', `shard log ${this.o.stream} is re-reading its end after a refused append`));
      durable.catch(() => {});
      return { firstCounter, arrivalMs, durable };
    }
    this.lastArrivalMs = arrivalMs;
    this.nextCounter += entries.length;
    const acks: Array<Promise<unknown>> = [];
    for (let i = 0; i < entries.length; i++) {
      // The record with counter c is stored only when the stream's last sequence is c (it becomes c + 1)
      // and the stream's last message is our previous one.
      const msgID = `${this.writerToken}-${firstCounter + i}`;
      acks.push(this.o.js.publish(this.o.subject, encodeRecord(entries[i]!, arrivalMs), {
        msgID,
        expect: { lastSequence: firstCounter + i, ...(this.previousMsgId ? { lastMsgID: this.previousMsgId } : {}) },
        timeout: 30_000,
      }));
      this.previousMsgId = msgID;
    }
    this.inFlight++;
    const end = firstCounter + entries.length;
    const previous = this.tail;
    const durable = Promise.allSettled(acks).then(async (settled) => {
      await previous.catch(() => {});
      const at = settled.findIndex((s) => s.status === 'rejected');
      // The messages before the first refused one were acknowledged, each at the sequence it expected:
      // they are stored at their counters, and the write path answers them as stored.
      if (at >= 0) throw Object.assign(this.refused((settled[at] as PromiseRejectedResult).reason), { durableCount: at });
      this.durableCounter = Math.max(this.durableCounter, end);
    }).finally(() => {
      this.inFlight--;
    });
    this.tail = durable.catch(() => {});
    return { firstCounter, arrivalMs, durable };
  }

  /** Marks the log for a re-read of the stream's end once every append in flight has settled. */
  private refused(reason: unknown): TributaryError {
    if (!this.resync) {
      this.resync = (async () => {
        for (;;) {
          await this.tail;
          if (this.inFlight <= 1) break; // only the append reporting this is left
          await new Promise((r) => setImmediate(r));
        }
        for (let attempt = 0; ; attempt++) {
          try {
            await this.refreshEnd();
            break;
          } catch (err) {
            if (this.closed || attempt >= 50) throw err;
            await new Promise((r) => setTimeout(r, 100 * Math.min(attempt + 1, 10)));
          }
        }
      })().finally(() => {
        this.resync = undefined;
      });
      this.resync.catch(() => {});
    }
    const conflict = /wrong last (sequence|msg id)/i.test(String((reason as Error)?.message));
    return new TributaryError(
      conflict ? 'SHARD_LOG_CONFLICT' : 'SHARD_LOG_UNAVAILABLE',
      conflict ? `another writer appended to ${this.o.stream} first` : `JetStream did not acknowledge an append to ${this.o.stream}`,
      { cause: reason },
    );
  }

  async read(fromCounter: number, options: ReadOptions): Promise<ReadResult> {
    const info = await this.o.jsm.streams.info(this.o.stream);
    const last = info.state.last_seq;
    if (this.inFlight === 0 && !this.resync && last > this.nextCounter) {
      // Another process appended: our view of the end moves with it.
      this.nextCounter = last;
    }
    this.durableCounter = Math.max(this.durableCounter, Math.min(last, this.nextCounter));
    this.first = info.state.messages === 0 ? last : Math.max(0, info.state.first_seq - 1);
    // The leader answers only what its replicas committed: everything up to `last` is acknowledged data.
    const end = last;
    const records: StoredRecord[] = [];
    let counter = Math.max(fromCounter, this.first);
    let bytes = 0;
    while (counter < end && records.length < options.limit) {
      const n = Math.min(readWindow, end - counter, options.limit - records.length);
      const msgs = await Promise.all(Array.from({ length: n }, (_, k) => this.getMessage(counter + k + 1)));
      let stop = false;
      for (const [k, m] of msgs.entries()) {
        if (!m) {
          // Trimmed under us: continue at the stream's new first record.
          const again = await this.o.jsm.streams.info(this.o.stream);
          const first = again.state.messages === 0 ? again.state.last_seq : again.state.first_seq - 1;
          this.first = first;
          if (first <= counter + k) throw new Error(`shard log ${this.o.stream}: message ${counter + k + 1} missing inside the stream`);
          counter = first;
          stop = true;
          break;
        }
        const r = decodeRecord(counter + k + 1, m.data);
        if (records.length > 0 && bytes + r.data.length > options.bytesMax) {
          return { records, nextCounter: r.counter };
        }
        if (r.arrivalMs >= options.arrivalMsMin) {
          records.push(r);
          bytes += r.data.length;
        }
        if (records.length >= options.limit || bytes >= options.bytesMax) return { records, nextCounter: r.counter + 1 };
      }
      if (!stop) counter += n;
    }
    return { records, nextCounter: Math.max(counter, fromCounter) };
  }

  async counterAtTime(ms: number): Promise<number> {
    // Binary search on the records' own arrival times (never decreasing in a shard): they are the times
    // sequence numbers carry, set by the gateway's clock, not by the server's.
    const info = await this.o.jsm.streams.info(this.o.stream);
    let lo = info.state.messages === 0 ? info.state.last_seq : info.state.first_seq - 1;
    let hi = info.state.last_seq;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const m = await this.getMessage(mid + 1);
      if (!m) {
        lo = mid + 1; // trimmed meanwhile: older than anything left
        continue;
      }
      if (decodeRecord(mid + 1, m.data).arrivalMs >= ms) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  async setRetentionMs(ms: number): Promise<void> {
    const info = await this.o.jsm.streams.info(this.o.stream);
    const maxAge = ms * 1_000_000;
    if (info.config.max_age !== maxAge) await this.o.jsm.streams.update(this.o.stream, { ...info.config, max_age: maxAge });
  }

  async seal(): Promise<number> {
    // A sealed JetStream stream refuses every message, from any process: an append another process sends
    // to the closed shard after this fails (its client retries into the children) instead of landing past
    // the shard's end, where no reader would look.
    const info = await this.o.jsm.streams.info(this.o.stream);
    if (!info.config.sealed) await this.o.jsm.streams.update(this.o.stream, { ...info.config, sealed: true } as never);
    await this.tail;
    const after = await this.o.jsm.streams.info(this.o.stream);
    this.nextCounter = after.state.last_seq;
    this.durableCounter = after.state.last_seq;
    return after.state.last_seq;
  }

  firstCounter(): number {
    return this.first;
  }

  async trimBefore(ms: number): Promise<number> {
    // A sealed stream (a closed shard) refuses purges: its records stay until the registry drops the
    // whole shard, one retention period after it closed.
    if ((await this.o.jsm.streams.info(this.o.stream)).config.sealed) return 0;
    const keepFrom = await this.counterAtTime(ms);
    if (keepFrom <= this.first) return 0;
    const r = await this.o.jsm.streams.purge(this.o.stream, { seq: keepFrom + 1 });
    this.first = Math.max(this.first, keepFrom);
    return r.purged;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.tail;
  }

  async destroy(): Promise<void> {
    await this.close();
    try {
      await this.o.jsm.streams.delete(this.o.stream);
    } catch (err) {
      if (!/stream not found/i.test(String((err as Error).message))) throw err;
    }
  }
}
