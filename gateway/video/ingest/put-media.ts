/**
 * PutMedia (POST /putMedia): a chunked MKV body in, newline-separated JSON
 * acknowledgements out on the same connection, as AWS answers it.
 *
 * The front door has checked the signature (over the headers: producers sign
 * PutMedia with UNSIGNED-PAYLOAD) and the policy before a byte of the body
 * is read. Then: the stream must exist and be under 5 connections per second
 * (else a normal error response), 200 goes out, and the body runs through
 * PutMediaSession. Each complete fragment is appended to the stream's
 * fragment log: RECEIVED with its number at once, PERSISTED when the log says
 * it is durable under the fsync policy (never for a stream without retention,
 * as AWS). A cut connection drops only the fragment in progress.
 *
 * Resends are idempotent: a fragment whose producer timestamp equals that of
 * one of the stream's recent stored fragments, or of one received and still
 * on its way to the disk (waiting for its turn under the fragment rate, or
 * for the fsync), is not stored again; it is acknowledged RECEIVED and
 * PERSISTED with the first copy's number. A
 * producer that reconnects after losing acks can therefore resend everything
 * not acknowledged PERSISTED (VideoProducer does).
 */
import type http from 'node:http';
import { performance } from 'node:perf_hooks';
import { videoErrors } from '../../../sdk/protocol/errors.ts';
import * as limits from '../../../sdk/protocol/video/limits.ts';
import { encodeAck } from '../../../sdk/protocol/video/acks.ts';
import type { RestAction, RestCall } from '../../http/rest.ts';
import type { StructureShape } from '../../http/validate.ts';
import type { FragmentMeta } from '../../storage/types.ts';
import type { VideoRegistry, VideoStream } from '../registry.ts';
import * as s from '../shapes.ts';
import { errorAck, PutMediaSession, type Ack, type IngestFragment, type SessionOutput } from './put-media-session.ts';
import { StreamThrottle } from './throttle.ts';
import { clientLimitMessage } from '../call-rate.ts';
import type { VideoMetrics } from '../metrics.ts';

export const shape: StructureShape = {
  type: 'structure',
  members: {
    StreamName: s.streamName,
    StreamARN: s.streamArn,
    FragmentTimecodeType: { type: 'string', required: true, enum: ['ABSOLUTE', 'RELATIVE'] },
    ProducerStartTimestamp: { type: 'string', required: true, pattern: '\\d{1,13}(\\.\\d{1,9})?' },
  },
};

/** How many of a stream's newest fragments a resend is looked for among (ours). */
export const resendWindowFragments = 1000;

function header(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export function putMediaAction(registry: VideoRegistry): RestAction {
  const throttles = new WeakMap<VideoStream, StreamThrottle>();
  return {
    name: 'PutMedia',
    shape,
    body: 'stream',
    inputOf: (req) => {
      const input: Record<string, unknown> = {};
      const pairs: Array<[string, string]> = [
        ['StreamName', 'x-amzn-stream-name'], ['StreamARN', 'x-amzn-stream-arn'],
        ['FragmentTimecodeType', 'x-amzn-fragment-timecode-type'], ['ProducerStartTimestamp', 'x-amzn-producer-start-timestamp'],
      ];
      for (const [field, name] of pairs) {
        const v = header(req, name);
        if (v !== undefined) input[field] = v;
      }
      return input;
    },
    handle: async (call) => {
      const stream = registry.resolve(call.input);
      let throttle = throttles.get(stream);
      if (!throttle) throttles.set(stream, (throttle = new StreamThrottle(registry.now)));
      if (!throttle.admitConnection()) {
        throw videoErrors.clientLimit(clientLimitMessage);
      }
      await runSession(call, stream, throttle, registry.now, registry.metrics);
    },
  };
}

function runSession(call: RestCall, stream: VideoStream, throttle: StreamThrottle, now: () => number, metrics: VideoMetrics): Promise<void> {
  return new PutMediaRequest(call, stream, throttle, now, metrics).run();
}

/** One PutMedia request: its body through a PutMediaSession, its fragments to the store, its acks out. */
class PutMediaRequest {
  private readonly labels: { stream: string };
  private readonly session: PutMediaSession;
  /** The answer is over: ended, or the connection closed. */
  private finished = false;
  /** An ERROR ended the session: nothing more of the body is used. */
  private stopped = false;
  private counted = true;
  /** Fragments are stored one after another, so that numbers follow the order the producer sent. */
  private pending: Promise<void> = Promise.resolve();
  /** Fragments whose PERSISTED (or ERROR) is still to be written; each leaves the set when it is, so a long session holds few. */
  private readonly durables = new Set<Promise<void>>();
  private lastDataMs = Date.now();
  /** When the fragment in progress began (its BUFFERING), for the ingestion latency. */
  private fragmentStartedAt = performance.now();
  private idle: NodeJS.Timeout | undefined;
  private readonly onDeleted = () => this.fail(errorAck('STREAM_NOT_ACTIVE'));

  constructor(
    private readonly call: RestCall,
    private readonly stream: VideoStream,
    private readonly throttle: StreamThrottle,
    private readonly now: () => number,
    private readonly metrics: VideoMetrics,
  ) {
    this.labels = Object.freeze({ stream: stream.name }); // Frozen: the metrics find its key by identity on every chunk.
    this.session = new PutMediaSession({
      timecodeType: call.input.FragmentTimecodeType as 'ABSOLUTE' | 'RELATIVE',
      producerStartMs: Math.round(Number(call.input.ProducerStartTimestamp) * 1000),
      now,
    });
  }

  run(): Promise<void> {
    const { req, res } = this.call;
    this.metrics.putConnection(this.stream.name, 1);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.flushHeaders();
    this.stream.deleted.signal.addEventListener('abort', this.onDeleted, { once: true });
    // IDLE while no data arrives; the request ends after 30 s of silence.
    this.idle = setInterval(() => this.tickIdle(), limits.putMediaIdleAckIntervalMs);
    this.idle.unref();
    return new Promise<void>((resolve) => {
      req.on('data', (chunk: Buffer) => this.onData(chunk));
      req.once('end', () => {
        if (!this.stopped) this.handle(this.session.end());
        void this.settled().then(() => this.finish()).then(resolve);
      });
      // A cut connection: the fragment in progress is dropped; what was handed to the store stays.
      res.once('close', () => {
        this.release();
        resolve();
      });
    });
  }

  private onData(chunk: Buffer): void {
    this.lastDataMs = Date.now();
    this.metrics.putIncomingBytes.inc(this.labels, chunk.length);
    if (this.finished || this.stopped) return;
    const fragmentWait = this.handle(this.session.push(chunk));
    // The data rate and the fragments waiting for their turn: read no more until both are back under the limits.
    const wait = Math.max(fragmentWait, this.throttle.take(chunk.length, 0));
    if (wait > 0 && !this.stopped) {
      this.call.req.pause();
      setTimeout(() => {
        if (!this.finished && !this.stopped) this.call.req.resume();
      }, wait).unref();
    }
  }

  private tickIdle(): void {
    const quiet = Date.now() - this.lastDataMs;
    if (quiet >= limits.putMediaIdleTimeoutMs) void this.settled().then(() => this.finish());
    else if (quiet >= limits.putMediaIdleAckIntervalMs) this.write({ EventType: 'IDLE' });
  }

  private write(ack: Ack): void {
    const { res } = this.call;
    if (this.finished || res.writableEnded) return;
    res.write(encodeAck(ack));
    if (ack.EventType === 'ERROR') this.metrics.putErrorAcks.inc({ ...this.labels, error_code: ack.ErrorCode ?? String(ack.ErrorId) });
  }

  /** Ends the session with one ERROR ack; fragments handed over before still get their PERSISTED. */
  private fail(ack: Ack): void {
    if (this.stopped) return;
    this.stopped = true;
    this.write(ack);
    this.call.req.pause();
    void this.settled().then(() => this.finish());
  }

  /** Ends the answer (the acks written so far are the last). */
  private finish(): void {
    const { req, res } = this.call;
    if (this.finished) return this.release();
    this.release();
    if (!res.writableEnded) res.end(() => req.destroy());
  }

  /** The request is over for the gateway: no more acks, timers or listeners. */
  private release(): void {
    if (this.counted) this.metrics.putConnection(this.stream.name, -1);
    this.counted = false;
    this.finished = true;
    clearInterval(this.idle);
    this.stream.deleted.signal.removeEventListener('abort', this.onDeleted);
  }

  /** Resolves once every fragment handed over is stored and its PERSISTED (or ERROR) written. */
  private settled(): Promise<void> {
    return this.pending.then(() => Promise.all([...this.durables])).then(() => undefined);
  }

  private track(p: Promise<void>): void {
    this.durables.add(p);
    const done = () => this.durables.delete(p);
    p.then(done, done);
  }

  /** Acks out, fragments to the store (each no sooner than the stream's fragment rate allows); returns how long the last one waits. */
  private handle(outputs: SessionOutput[]): number {
    let waitMs = 0;
    for (const out of outputs) {
      if (out.kind === 'ack') {
        if (out.ack.EventType === 'ERROR') this.fail(out.ack);
        else this.write(out.ack);
        if (out.ack.EventType === 'BUFFERING') this.fragmentStartedAt = performance.now();
      } else waitMs = this.accept(out.fragment) ?? waitMs;
    }
    return waitMs;
  }

  /** Takes a complete fragment: answered by an earlier copy, or claimed and queued for the store. Returns its wait, if it is stored. */
  private accept(fragment: IngestFragment): number | undefined {
    const serverMs = this.now();
    const receivedAt = performance.now();
    this.metrics.putIncomingFragments.inc(this.labels);
    this.metrics.putIncomingFrames.inc(this.labels, fragment.frames);
    this.metrics.putIngestionLatency.observe(this.labels, (receivedAt - this.fragmentStartedAt) / 1000);
    const on: Answer = {
      write: (a) => this.write(a),
      fail: (a) => this.fail(a),
      persisted: () => this.metrics.putPersistedAckLatency.observe(this.labels, (performance.now() - receivedAt) / 1000),
    };
    const claims = claimsOf(this.stream);
    const prior = claims.get(fragment.producerMs);
    if (prior) {
      // A resend of a fragment received (by this request or another) and not yet durable: that copy answers it.
      this.pending = this.pending.then(() => this.track(answerFromClaim(prior, fragment, this.stream, on)));
      return undefined;
    }
    const claim = claimFragment(claims, fragment.producerMs);
    // 5 fragments per second per stream: a fragment over the rate is stored (and acknowledged) when it is back under it.
    const waitMs = this.throttle.take(0, 1);
    const due = Date.now() + waitMs;
    this.pending = this.pending.then(async () => {
      const wait = due - Date.now();
      // Received whole, it is stored even if the connection has gone meanwhile (a resend finds it).
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      this.track(store(this.stream, fragment, serverMs, on, claim));
    });
    return waitMs;
  }
}

/** Where a received fragment went: its number and durability, or undefined when it could not be stored. */
type Placed = { number: string; durable: Promise<void> } | undefined;

/**
 * A fragment received and not yet durable, by producer timestamp, shared by
 * every request of the stream: from the moment it is complete (it may still
 * wait for its turn under the fragment rate) until the fsync that covers it.
 * A resend in that window (the producer reconnected before its PERSISTED
 * came) is answered by the same copy, not stored again.
 */
interface Claim {
  placed: Promise<Placed>;
  settle(p: Placed): void;
}

const claimsByStream = new WeakMap<VideoStream, Map<number, Claim>>();

function claimsOf(stream: VideoStream): Map<number, Claim> {
  let m = claimsByStream.get(stream);
  if (!m) claimsByStream.set(stream, (m = new Map()));
  return m;
}

/** Claims a producer timestamp; the claim goes once its fragment is durable (then the log's index finds it) or failed. */
function claimFragment(claims: Map<number, Claim>, producerMs: number): Claim {
  let settle!: (p: Placed) => void;
  const placed = new Promise<Placed>((resolve) => (settle = resolve));
  const claim: Claim = { placed, settle };
  claims.set(producerMs, claim);
  const release = () => {
    if (claims.get(producerMs) === claim) claims.delete(producerMs);
  };
  void placed.then((p) => (p ? p.durable.then(release, release) : release()));
  return claim;
}

interface Answer {
  write(a: Ack): void;
  fail(a: Ack): void;
  /** PERSISTED was written (for the latency metric). */
  persisted(): void;
}

/** Writes PERSISTED once `durable` settles (streams with retention), or ARCHIVAL_ERROR if the write failed. */
function persistedWhen(stream: VideoStream, f: IngestFragment, number: string, durable: Promise<void>, on: Answer): Promise<void> {
  return durable.then(
    () => {
      if (stream.dataRetentionInHours <= 0) return;
      on.write({ EventType: 'PERSISTED', FragmentTimecode: f.ackTimecode, FragmentNumber: number });
      on.persisted();
    },
    () => on.fail(errorAck('ARCHIVAL_ERROR', f.ackTimecode)),
  );
}

/** Answers a resend from the claim of its first copy: RECEIVED with that number, PERSISTED when that copy is durable. */
async function answerFromClaim(prior: Claim, f: IngestFragment, stream: VideoStream, on: Answer): Promise<void> {
  const placed = await prior.placed;
  if (!placed) return on.fail(errorAck('ARCHIVAL_ERROR', f.ackTimecode));
  on.write({ EventType: 'RECEIVED', FragmentTimecode: f.ackTimecode, FragmentNumber: placed.number });
  return persistedWhen(stream, f, placed.number, placed.durable, on);
}

/**
 * Appends a claimed fragment (or finds its stored earlier copy) and writes
 * RECEIVED; the promise settles once PERSISTED or ERROR is written.
 */
function store(stream: VideoStream, f: IngestFragment, serverMs: number, on: Answer, claim: Claim): Promise<void> {
  const resent = findResend(stream.fragments.list(), f.producerMs);
  if (resent) {
    claim.settle({ number: resent.FragmentNumber, durable: Promise.resolve() });
    on.write({ EventType: 'RECEIVED', FragmentTimecode: f.ackTimecode, FragmentNumber: resent.FragmentNumber });
    if (stream.dataRetentionInHours > 0) on.write({ EventType: 'PERSISTED', FragmentTimecode: f.ackTimecode, FragmentNumber: resent.FragmentNumber });
    return Promise.resolve();
  }
  let appended: ReturnType<VideoStream['fragments']['append']>;
  try {
    appended = stream.fragments.append({ header: f.header, cluster: f.cluster, producerMs: f.producerMs, serverMs, durationMs: f.durationMs });
  } catch {
    claim.settle(undefined);
    on.fail(errorAck('ARCHIVAL_ERROR', f.ackTimecode));
    return Promise.resolve();
  }
  const number = appended.meta.FragmentNumber;
  claim.settle({ number, durable: appended.durable });
  on.write({ EventType: 'RECEIVED', FragmentTimecode: f.ackTimecode, FragmentNumber: number });
  // PERSISTED is written when durable, without holding up the next fragment's append (group commit).
  return persistedWhen(stream, f, number, appended.durable, on);
}

/** A recent stored fragment with this producer timestamp (a resend after a reconnect). */
function findResend(list: readonly FragmentMeta[], producerMs: number): FragmentMeta | undefined {
  for (let i = list.length - 1, n = 0; i >= 0 && n < resendWindowFragments; i--, n++) {
    if (list[i]!.ProducerTimestamp === producerMs) return list[i];
  }
  return undefined;
}
