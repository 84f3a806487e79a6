// Proves the firmware-bridge codec: COBS and frames byte by byte against the
// shared vectors, typed payloads of every type round-trip (fast-check), the
// streaming decoder yields the same frames under any split and recovers
// every valid frame around garbage, truncation and resets; and the time-sync
// estimator and the deduplicator on their own.
import fs from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  cobsDecode, cobsEncode, decodeFrame, decodeMessage, encodeFrame, encodeMessage, FrameDecoder, FrameError, FrameType,
  frameEncodedBytesMax, packFrame, payloadBytesMax, type DecodedEvent, type Frame, type Message, type TelemetryValue,
} from '../../firmware-bridge/codec.ts';
import { DeviceDeduplicator } from '../../firmware-bridge/dedup.ts';
import { ClockEstimator } from '../../firmware-bridge/time-sync.ts';
import { cobsVectors, frameVectors, hexOf, vectorsJson } from '../../firmware-bridge/vectors.ts';

const vectorsPath = new URL('../../firmware-bridge/test-vectors.json', import.meta.url);
const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof FrameError) return `${err.code}: ${err.message}`;
    throw err;
  }
  return 'no error';
}

describe('COBS', () => {
  it('encodes the published examples', () => {
    // Wikipedia's COBS examples (a 254-byte run at the end gets no empty block after it).
    expect(hexOf(cobsEncode(hex('00')))).toBe('0101');
    expect(hexOf(cobsEncode(hex('0000')))).toBe('010101');
    expect(hexOf(cobsEncode(hex('001100')))).toBe('01021101');
    expect(hexOf(cobsEncode(hex('11220033')))).toBe('0311220233');
    expect(hexOf(cobsEncode(hex('11223344')))).toBe('0511223344');
    expect(hexOf(cobsEncode(hex('11000000')))).toBe('0211010101');
    const run = Uint8Array.from({ length: 254 }, (_, i) => i + 1);
    expect(hexOf(cobsEncode(run))).toBe('ff' + hexOf(run));
    const run255 = Uint8Array.from({ length: 255 }, (_, i) => i + 1);
    expect(hexOf(cobsEncode(run255))).toBe('ff' + hexOf(run255.subarray(0, 254)) + '02ff');
  });
  it('matches the shared vectors both ways, and accepts the paper form', () => {
    for (const v of cobsVectors) {
      expect(hexOf(cobsEncode(hex(v.decoded)))).toBe(v.encoded);
      expect(hexOf(cobsDecode(hex(v.encoded)))).toBe(v.decoded);
    }
    const run = Uint8Array.from({ length: 254 }, (_, i) => i + 1);
    expect(hexOf(cobsDecode(hex('ff' + hexOf(run) + '01')))).toBe(hexOf(run));
  });
  it('round-trips any bytes and never emits 0x00', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 1200 }), (bytes) => {
      const enc = cobsEncode(bytes);
      expect(enc.includes(0)).toBe(false);
      expect(enc.length).toBeLessThanOrEqual(bytes.length + Math.ceil(bytes.length / 254) + 1);
      expect(hexOf(cobsDecode(enc))).toBe(hexOf(bytes));
    }), { numRuns: 300 });
  });
  it('rejects bad blocks precisely', () => {
    expect(codeOf(() => cobsDecode(hex('05112233')))).toBe('BAD_COBS: COBS code 0x05 at offset 0 runs 1 bytes past the end of a 4-byte block');
    expect(codeOf(() => cobsDecode(hex('031100')))).toBe('BAD_COBS: 0x00 inside a COBS block at offset 2');
    expect(codeOf(() => cobsDecode(hex('0200')))).toBe('BAD_COBS: 0x00 inside a COBS block at offset 1');
  });
});

describe('frames', () => {
  it('test-vectors.json is what the codec generates', () => {
    expect(fs.readFileSync(vectorsPath, 'utf8')).toBe(vectorsJson());
  });
  it('lays out a heartbeat byte by byte', () => {
    const frame = encodeMessage({ type: 'heartbeat', uptimeMs: 60000 }, { seq: 0xffffffff });
    // version 1, type 0x04, flags 0, seq ffffffff LE, uptime 60000 = LEB128 e0 d4 03, CRC-32C LE.
    expect(hexOf(packFrame(frame))).toBe('010400ffffffffe0d403b58f4879');
    expect(hexOf(encodeFrame(frame))).toBe('0301040cffffffffe0d403b58f487900');
  });
  it('decodes every shared vector to its message', () => {
    for (const v of frameVectors()) {
      const frame = decodeFrame(hex(v.hex));
      expect(frame.seq).toBe(v.seq);
      expect((frame.flags & 1) === 1).toBe(v.ackRequested);
      expect((frame.flags & 2) === 2).toBe(v.retransmit);
      expect(decodeMessage(frame)).toEqual(v.message);
    }
  });
  it('reports each kind of broken frame with its code', () => {
    const good = encodeFrame(encodeMessage({ type: 'ack', ackSeq: 2 }, { seq: 10 }));
    const raw = packFrame(encodeMessage({ type: 'ack', ackSeq: 2 }, { seq: 10 }));
    const flipped = raw.slice();
    flipped[8]! ^= 0x40;
    expect(codeOf(() => decodeFrame(cobsEncode(flipped)))).toMatch(/^CRC_MISMATCH: frame CRC-32C is 0x[0-9a-f]{8} but header and payload sum to 0x[0-9a-f]{8}$/);
    expect(codeOf(() => decodeFrame(cobsEncode(raw.subarray(0, 10))))).toBe('TOO_SHORT: frame of 10 bytes is shorter than the 11-byte minimum');
    expect(codeOf(() => decodeFrame(good.subarray(0, 5)))).toMatch(/^TOO_SHORT/);
    expect(codeOf(() => decodeFrame(hex('ff010200')))).toBe('BAD_COBS: COBS code 0xff at offset 0 runs 252 bytes past the end of a 3-byte block');
    expect(codeOf(() => decodeFrame(new Uint8Array(600).fill(1)))).toBe('OVERSIZE: encoded frame of 600 bytes is longer than the 515-byte maximum');
    const v2 = packFrame({ version: 2, type: FrameType.ack, flags: 0, seq: 1, payload: new Uint8Array(4) });
    expect(codeOf(() => decodeFrame(cobsEncode(v2)))).toBe('UNKNOWN_VERSION: frame version 2 is not 1');
    expect(codeOf(() => decodeMessage({ version: 1, type: 0x7f, flags: 0, seq: 1, payload: new Uint8Array() }))).toBe('UNKNOWN_TYPE: frame type 0x7f is not known');
    expect(codeOf(() => decodeMessage({ version: 1, type: FrameType.ack, flags: 0, seq: 1, payload: hex('0102') }))).toBe('BAD_PAYLOAD: payload ends inside ackSeq (offset 0, 4 bytes needed, 2 left)');
    expect(codeOf(() => decodeMessage({ version: 1, type: FrameType.ack, flags: 0, seq: 1, payload: hex('0102030405') }))).toBe('BAD_PAYLOAD: 1 trailing bytes after the payload');
    expect(codeOf(() => decodeMessage({ version: 1, type: FrameType.heartbeat, flags: 0, seq: 1, payload: hex('8000') }))).toBe('BAD_PAYLOAD: uptimeMs is an overlong varint');
    expect(codeOf(() => decodeMessage({ version: 1, type: FrameType.telemetry, flags: 0x0c, seq: 1, payload: hex('010000') }))).toBe('BAD_PAYLOAD: telemetry body encoding 3 is reserved');
    expect(codeOf(() => decodeMessage({ version: 1, type: FrameType.telemetry, flags: 0, seq: 1, payload: hex('0100000109ff') }))).toBe('BAD_PAYLOAD: value 0 has unknown tag 0x09');
    expect(codeOf(() => decodeMessage({ version: 1, type: FrameType.log, flags: 0, seq: 1, payload: hex('0200ff') }))).toBe('BAD_PAYLOAD: text is not valid UTF-8');
    expect(codeOf(() => decodeMessage({ version: 1, type: FrameType.log, flags: 0, seq: 1, payload: hex('0900') }))).toBe('BAD_PAYLOAD: log level 9 is not 0 to 5');
  });
  it('refuses values that do not fit', () => {
    const t = (values: TelemetryValue[]): Message => ({ type: 'telemetry', sensorId: 1, timeBase: 'uptime', timeMs: 0, body: { encoding: 'compact', values } });
    expect(codeOf(() => encodeMessage(t([{ kind: 'u8', value: 256 }]), { seq: 0 }))).toBe('BAD_VALUE: telemetry value 256 does not fit u8');
    expect(codeOf(() => encodeMessage(t([{ kind: 'f32', value: 0.1 }]), { seq: 0 }))).toBe('BAD_VALUE: telemetry value 0.1 does not fit f32');
    expect(codeOf(() => encodeMessage({ type: 'heartbeat', uptimeMs: -1 }, { seq: 0 }))).toBe('BAD_VALUE: uptimeMs must be an integer from 0 to 2^53 - 1 (got -1)');
    expect(codeOf(() => encodeFrame(encodeMessage({ type: 'ack', ackSeq: 1 }, { seq: 2 ** 32 })))).toBe('BAD_VALUE: frame seq must be a u32 (got 4294967296)');
    expect(codeOf(() => encodeMessage({ type: 'log', level: 'info', timeBase: 'uptime', timeMs: 0, text: 'x'.repeat(600) }, { seq: 0 }))).toBe(`BAD_VALUE: payload would exceed ${payloadBytesMax} bytes`);
  });
});

// Arbitraries for every message type, within the payload limit.
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const ms = fc.maxSafeNat();
const utf8Len = (s: string) => Buffer.byteLength(s, 'utf8');
const shortText = fc.string({ unit: 'grapheme', maxLength: 12 }).filter((s) => utf8Len(s) <= 64);
const value: fc.Arbitrary<TelemetryValue> = fc.oneof(
  fc.integer({ min: 0, max: 0xff }).map((value) => ({ kind: 'u8' as const, value })),
  fc.integer({ min: -0x80, max: 0x7f }).map((value) => ({ kind: 'i8' as const, value })),
  fc.integer({ min: 0, max: 0xffff }).map((value) => ({ kind: 'u16' as const, value })),
  fc.integer({ min: -0x8000, max: 0x7fff }).map((value) => ({ kind: 'i16' as const, value })),
  u32.map((value) => ({ kind: 'u32' as const, value })),
  fc.integer({ min: -0x80000000, max: 0x7fffffff }).map((value) => ({ kind: 'i32' as const, value })),
  fc.float().map((value) => ({ kind: 'f32' as const, value })),
  fc.double().map((value) => ({ kind: 'f64' as const, value })),
);
const cborish = fc.oneof(
  fc.integer(), fc.string({ maxLength: 20 }), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 10 }),
  fc.dictionary(fc.string({ maxLength: 5 }).filter((k) => k !== '__proto__'), fc.integer(), { maxKeys: 5 }),
);
const timeBase = fc.constantFrom('uptime' as const, 'wall' as const);
const message: fc.Arbitrary<Message> = fc.oneof(
  fc.record({ type: fc.constant('hello' as const), bootId: u32, uptimeMs: ms, firmwareName: shortText, firmwareVersion: shortText }),
  fc.record({
    type: fc.constant('telemetry' as const), sensorId: fc.integer({ min: 0, max: 0xffff }), timeBase, timeMs: ms,
    body: fc.oneof(
      fc.record({ encoding: fc.constant('compact' as const), values: fc.array(value, { maxLength: 40 }) }),
      fc.record({ encoding: fc.constant('cbor' as const), value: cborish }),
      fc.record({ encoding: fc.constant('json' as const), value: fc.jsonValue({ maxDepth: 2 }).filter((v) => JSON.stringify(v).length < 400) }),
    ),
  }),
  fc.record({
    type: fc.constant('log' as const), level: fc.constantFrom('trace' as const, 'debug' as const, 'info' as const, 'warn' as const, 'error' as const, 'fatal' as const),
    timeBase, timeMs: ms, text: fc.string({ unit: 'grapheme', maxLength: 100 }).filter((s) => utf8Len(s) <= 480),
  }),
  fc.record({ type: fc.constant('heartbeat' as const), uptimeMs: ms }),
  fc.record({ type: fc.constant('ack' as const), ackSeq: u32 }),
  fc.record({ type: fc.constant('nack' as const), ackSeq: u32, reason: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ type: fc.constant('time-sync' as const), wallMs: ms }),
  fc.record({ type: fc.constant('time-sync-reply' as const), requestSeq: u32, wallMs: ms, uptimeMs: ms }),
);

/** JSON bodies come back as JSON.parse sees them (-0 becomes 0). */
function normalized(m: Message): Message {
  if (m.type === 'telemetry' && m.body.encoding === 'json') return { ...m, body: { encoding: 'json', value: JSON.parse(JSON.stringify(m.body.value)) } };
  return m;
}

const frameKey = (f: Frame) => `${f.version}/${f.type}/${f.flags}/${f.seq}/${hexOf(f.payload)}`;
const framesOf = (events: DecodedEvent[]) => events.flatMap((e) => (e.kind === 'frame' ? [frameKey(e.frame)] : []));
const stream = fc.array(fc.tuple(message, u32, fc.boolean()), { minLength: 1, maxLength: 12 }).map((items) =>
  items.map(([m, seq, ack]) => encodeMessage(m, { seq, ackRequested: ack })),
);

function chunked(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let at = 0;
  for (const p of [...points, bytes.length]) {
    chunks.push(bytes.subarray(at, p));
    at = p;
  }
  return chunks;
}

describe('typed payloads', () => {
  it('round-trip for every type, through the wire bytes', () => {
    fc.assert(fc.property(message, u32, fc.boolean(), fc.boolean(), (m, seq, ackRequested, retransmit) => {
      const wire = encodeFrame(encodeMessage(m, { seq, ackRequested, retransmit }));
      expect(wire.length).toBeLessThanOrEqual(frameEncodedBytesMax + 1);
      expect(wire.indexOf(0)).toBe(wire.length - 1);
      const frame = decodeFrame(wire);
      expect(frame.seq).toBe(seq);
      expect(frame.flags & 3).toBe((ackRequested ? 1 : 0) | (retransmit ? 2 : 0));
      expect(decodeMessage(frame)).toEqual(normalized(m));
    }), { numRuns: 1000 });
  });
});

describe('FrameDecoder', () => {
  it('decodes byte by byte and in random splits to the same frames', () => {
    fc.assert(fc.property(stream, fc.array(fc.nat(), { maxLength: 30 }), (frames, cuts) => {
      const wire = Buffer.concat(frames.map(encodeFrame));
      const expected = frames.map(frameKey);
      const whole = new FrameDecoder();
      expect(framesOf(whole.push(wire))).toEqual(expected);
      const split = new FrameDecoder();
      expect(chunked(wire, cuts).flatMap((c) => framesOf(split.push(c)))).toEqual(expected);
      const bytewise = new FrameDecoder();
      const got: string[] = [];
      for (const b of wire) got.push(...framesOf(bytewise.push(Uint8Array.of(b))));
      expect(got).toEqual(expected);
      expect(bytewise.counters).toEqual({ ...whole.counters });
      expect(whole.counters.framesOk).toBe(frames.length);
      expect(whole.counters.bytesDiscarded).toBe(0);
      expect(whole.pending).toBe(0);
    }), { numRuns: 300 });
  });

  it('never passes garbage on as a frame and recovers every valid frame after it', () => {
    const garbage = fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ minLength: 500, maxLength: 1500 }));
    fc.assert(fc.property(stream, fc.array(garbage, { minLength: 12, maxLength: 12 }), fc.array(fc.nat(), { maxLength: 20 }), (frames, junk, cuts) => {
      // Garbage ends with a delimiter (line noise, then the MCU's next frame starts after a 0x00).
      const parts: Uint8Array[] = [];
      frames.forEach((f, i) => parts.push(junk[i]!, Uint8Array.of(0), encodeFrame(f)));
      const wire = Buffer.concat(parts);
      const d = new FrameDecoder();
      const events = chunked(wire, cuts).flatMap((c) => d.push(c));
      expect(framesOf(events)).toEqual(frames.map(frameKey));
      const c = d.counters;
      expect(c.framesOk).toBe(frames.length);
      const errors = events.filter((e) => e.kind === 'error');
      expect(c.resyncs).toBe(errors.length);
      expect(c.crcErrors + c.badCobs + c.tooShort + c.unknownVersion + c.oversize).toBe(errors.length);
      expect(c.bytesDiscarded).toBe(junk.slice(0, frames.length).reduce((n, j) => n + j.length - j.filter((b) => b === 0).length, 0));
    }), { numRuns: 300 });
  });

  it('reports a frame truncated by an MCU reset and decodes the frames after it', () => {
    fc.assert(fc.property(stream, stream, fc.nat(), (before, after, cut) => {
      const victim = encodeFrame(before[before.length - 1]!);
      const partial = victim.subarray(0, cut % (victim.length - 1));
      const wire = Buffer.concat([...before.slice(0, -1).map(encodeFrame), partial, Uint8Array.of(0), ...after.map(encodeFrame)]);
      const d = new FrameDecoder();
      const events = d.push(wire);
      expect(framesOf(events)).toEqual([...before.slice(0, -1), ...after].map(frameKey));
      expect(events.filter((e) => e.kind === 'error').length).toBe(partial.length > 0 ? 1 : 0);
    }), { numRuns: 300 });
  });

  it('resync() drops a partial frame and hunts for the next delimiter (port reopen, baud change)', () => {
    fc.assert(fc.property(stream, fc.nat(), fc.uint8Array({ maxLength: 30 }), (frames, cut, noise) => {
      const first = encodeFrame(frames[0]!);
      const partial = first.subarray(0, cut % first.length);
      const d = new FrameDecoder();
      expect(d.push(partial)).toEqual([]);
      d.resync();
      const tail = Buffer.concat([noise.filter((b) => b !== 0), Uint8Array.of(0), ...frames.map(encodeFrame)]);
      const events = d.push(tail);
      expect(events.filter((e) => e.kind === 'error')).toEqual([]);
      expect(framesOf(events)).toEqual(frames.map(frameKey));
      expect(d.counters.bytesDiscarded).toBe(partial.length + noise.filter((b) => b !== 0).length);
    }), { numRuns: 200 });
  });

  it('hunting mode skips the tail of a frame caught mid-way after opening the port', () => {
    const frames = [encodeMessage({ type: 'heartbeat', uptimeMs: 5 }, { seq: 1 }), encodeMessage({ type: 'heartbeat', uptimeMs: 6 }, { seq: 2 })];
    const wire = Buffer.concat(frames.map(encodeFrame));
    const d = new FrameDecoder({ hunting: true });
    expect(framesOf(d.push(wire.subarray(3)))).toEqual([frameKey(frames[1]!)]);
    expect(d.counters.bytesDiscarded).toBe(encodeFrame(frames[0]!).length - 4);
  });

  it('counts an oversize run once and recovers at the next delimiter', () => {
    const d = new FrameDecoder();
    const ok = encodeFrame(encodeMessage({ type: 'heartbeat', uptimeMs: 1 }, { seq: 1 }));
    const events = [...d.push(new Uint8Array(400).fill(7)), ...d.push(new Uint8Array(400).fill(7)), ...d.push(Uint8Array.of(0)), ...d.push(ok)];
    expect(events.map((e) => (e.kind === 'error' ? e.code : 'frame'))).toEqual(['OVERSIZE', 'frame']);
    expect(d.counters).toMatchObject({ oversize: 1, resyncs: 1, framesOk: 1, bytesDiscarded: 800 });
    // Empty frames (back-to-back delimiters) are ignored, not errors.
    expect(d.push(Uint8Array.of(0, 0, 0))).toEqual([]);
  });

  it('counts CRC failures and drops the frame', () => {
    const raw = packFrame(encodeMessage({ type: 'heartbeat', uptimeMs: 1 }, { seq: 1 }));
    raw[7]! ^= 1;
    const d = new FrameDecoder();
    const events = d.push(Buffer.concat([cobsEncode(raw), Uint8Array.of(0)]));
    expect(events).toMatchObject([{ kind: 'error', code: 'CRC_MISMATCH', bytes: raw.length + 1 }]);
    expect(d.counters).toMatchObject({ crcErrors: 1, resyncs: 1, framesOk: 0 });
  });
});

describe('ClockEstimator', () => {
  /** An MCU whose uptime runs `driftPpm` slow, booted at wall time `bootWallMs`, behind a link with 1 to 6 ms each way. */
  function simulate(driftPpm: number, count: number, everyMs: number, seed: number) {
    const bootWallMs = 1_764_000_000_000;
    const uptimeAt = (wall: number) => (wall - bootWallMs) / (1 + driftPpm / 1e6);
    let s = seed;
    const rand = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const clock = new ClockEstimator();
    for (let i = 0; i < count; i++) {
      const t0 = bootWallMs + 5000 + i * everyMs;
      const there = t0 + 1 + rand() * 5;
      const t1 = there + 1 + rand() * 5;
      clock.add({ uptimeMs: Math.floor(uptimeAt(there)), sentWallMs: t0, receivedWallMs: Math.round(t1) });
    }
    return { clock, uptimeAt, bootWallMs };
  }

  it('knows nothing before the first sample', () => {
    const clock = new ClockEstimator();
    expect(clock.synced).toBe(false);
    expect(clock.toWallMs(100)).toBeUndefined();
  });

  it('converts with one sample, drift taken as zero', () => {
    const clock = new ClockEstimator();
    expect(clock.add({ uptimeMs: 5000, sentWallMs: 1_700_000_000_000, receivedWallMs: 1_700_000_000_010 })).toBe('accepted');
    expect(clock.toWallMs(6000)).toBe(1_700_000_001_005);
    expect(clock.driftPpm).toBe(0);
    expect(clock.uncertaintyMs).toBe(5);
  });

  it('estimates drift within a few ppm and converts within a few ms', () => {
    for (const drift of [-20_000, -100, 0, 50, 3000]) {
      const { clock, uptimeAt, bootWallMs } = simulate(drift, 16, 60_000, 7);
      expect(Math.abs(clock.driftPpm - drift)).toBeLessThan(5);
      const wall = bootWallMs + 20 * 60_000;
      expect(Math.abs(clock.toWallMs(uptimeAt(wall))! - wall)).toBeLessThan(5);
    }
  });

  it('drops slow replies and resets when uptime goes backwards', () => {
    const clock = new ClockEstimator();
    clock.add({ uptimeMs: 1000, sentWallMs: 10_000, receivedWallMs: 10_004 });
    expect(clock.add({ uptimeMs: 2000, sentWallMs: 11_000, receivedWallMs: 11_200 })).toBe('rtt-outlier');
    expect(clock.add({ uptimeMs: 3000, sentWallMs: 12_000, receivedWallMs: 14_000 })).toBe('rtt-too-long');
    expect(clock.add({ uptimeMs: 3000, sentWallMs: 12_000, receivedWallMs: 11_999 })).toBe('rtt-too-long');
    expect(clock.add({ uptimeMs: 50, sentWallMs: 20_000, receivedWallMs: 20_002 })).toBe('reset');
    expect(clock.toWallMs(50)).toBe(20_001);
  });
});

describe('DeviceDeduplicator', () => {
  it('needs a hello, then admits each number once', () => {
    const d = new DeviceDeduplicator();
    expect(d.admit(1)).toBe('no-session');
    expect(d.hello(0xabc, 0)).toEqual({ session: 'new-session', verdict: 'new' });
    expect(d.hello(0xabc, 0)).toEqual({ session: 'same-session', verdict: 'duplicate' });
    expect(d.admit(1)).toBe('new');
    expect(d.admit(1)).toBe('duplicate');
    expect(d.admit(3)).toBe('new');
    expect(d.admit(2)).toBe('new');
    expect(d.admit(2)).toBe('duplicate');
  });

  it('restarts the sequence space on a new boot id only', () => {
    const d = new DeviceDeduplicator();
    d.hello(1, 0);
    for (let s = 1; s <= 50; s++) d.admit(s);
    expect(d.hello(1, 51)).toEqual({ session: 'same-session', verdict: 'new' });
    expect(d.admit(5)).toBe('duplicate');
    expect(d.hello(2, 0)).toEqual({ session: 'new-session', verdict: 'new' });
    expect(d.admit(5)).toBe('new');
  });

  it('calls numbers below the window stale, and wraps at 2^32', () => {
    const d = new DeviceDeduplicator(64);
    d.hello(1, 0xffffffe0);
    expect(d.admit(0x10)).toBe('new');
    expect(d.admit(0xfffffff0)).toBe('new');
    expect(d.admit(0xffffffe0)).toBe('duplicate');
    expect(d.admit(0xffffffcf)).toBe('stale');
    expect(d.admit(0x1000)).toBe('new');
    expect(d.admit(0x10)).toBe('stale');
  });

  it('release() lets the retransmit of a record that was not made durable in', () => {
    const d = new DeviceDeduplicator();
    d.hello(1, 0);
    expect(d.admit(1)).toBe('new');
    d.release(1);
    expect(d.admit(1)).toBe('new');
  });

  it('survives a snapshot and restore', () => {
    const d = new DeviceDeduplicator();
    d.hello(9, 0);
    [1, 2, 5].forEach((s) => d.admit(s));
    const r = DeviceDeduplicator.restore(JSON.parse(JSON.stringify(d.snapshot())));
    expect([1, 2, 3, 4, 5, 6].map((s) => r.admit(s))).toEqual(['duplicate', 'duplicate', 'new', 'new', 'duplicate', 'new']);
  });

  it('agrees with a set of seen numbers for retransmits inside the window', () => {
    fc.assert(fc.property(u32, fc.array(fc.integer({ min: -200, max: 300 }), { maxLength: 300 }), (base, steps) => {
      const d = new DeviceDeduplicator(1024);
      d.hello(7, base);
      const seen = new Set([0]);
      let highest = 0;
      for (const s of steps) {
        const verdict = d.admit((base + s) >>> 0);
        if (s > highest) highest = s;
        expect(verdict).toBe(highest - s >= 1024 ? 'stale' : seen.has(s) ? 'duplicate' : 'new');
        seen.add(s);
      }
    }), { numRuns: 200 });
  });
});
