// Proves the reference C encoder/decoder and the TypeScript codec agree: the
// C code compiles warning-free as strict C99, encodes the shared vectors byte
// for byte, its frames decode in TypeScript, and a TypeScript-encoded stream
// (random messages, random splits, garbage, truncated frames, other versions) decodes in C
// to exactly the events and counters the TypeScript FrameDecoder reports.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cobsEncode, decodeFrame, decodeMessage, encodeFrame, encodeMessage, FrameDecoder, FrameError, logLevels, packFrame,
  type DecodedEvent, type Frame, type Message, type TelemetryValue,
} from '../../firmware-bridge/codec.ts';
import { frameVectors, hexOf, vectorInputs } from '../../firmware-bridge/vectors.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cDir = path.join(root, 'firmware-bridge', 'c');
const vectorsPath = path.join(root, 'firmware-bridge', 'test-vectors.json');
const gccFlags = ['-std=c99', '-Wall', '-Wextra', '-Werror', '-pedantic'];

let dir = '';
let exe = '';

function run(args: string[]): string {
  const r = spawnSync(exe, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`test_frame ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-fw-'));
  exe = path.join(dir, 'test_frame');
  const r = spawnSync('gcc', [...gccFlags, '-O2', '-o', exe, path.join(cDir, 'test_frame.c'), path.join(cDir, 'tributary_frame.c')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`gcc failed:\n${r.stderr}`);
});

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('reference C code', () => {
  it('compiles as strict C99 with a small local frame limit too', () => {
    const r = spawnSync('gcc', [...gccFlags, '-DTF_FRAME_BYTES_MAX=128u', '-c', '-o', path.join(dir, 'small.o'), path.join(cDir, 'tributary_frame.c')], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('encodes every shared vector byte for byte', () => {
    const out = run(['vectors', vectorsPath]);
    expect(out).toContain('ok crc32c');
    expect(out).toContain('ok limits');
    expect(out).toContain('ok parsers');
    expect(out).toContain('0 failures');
    for (const v of vectorInputs) expect(out).toMatch(new RegExp(`^ok ${v.name} \\(`, 'm'));
  });

  it('C-encoded frames decode in TypeScript to the vectors\' messages', () => {
    const lines = run(['encode']).trim().split('\n');
    expect(lines.length).toBe(vectorInputs.length);
    const byName = new Map(frameVectors().map((v) => [v.name, v]));
    for (const line of lines) {
      const [name, hex] = line.split(' ') as [string, string];
      const v = byName.get(name)!;
      const frame = decodeFrame(Buffer.from(hex, 'hex'));
      expect(frame.seq).toBe(v.seq);
      expect(decodeMessage(frame)).toEqual(v.message);
      expect(hex).toBe(v.hex);
    }
  });

  it('decodes a TypeScript-encoded stream with garbage to the same events and counters', () => {
    const items = fc.sample(streamItem, { seed: 20261125, numRuns: 400 });
    const parts: Uint8Array[] = [];
    for (const item of items) {
      if (item.kind === 'frame') parts.push(encodeFrame(encodeMessage(item.message, { seq: item.seq, ackRequested: item.ack })));
      else if (item.kind === 'garbage') parts.push(item.bytes, Uint8Array.of(0));
      else if (item.kind === 'version') parts.push(cobsEncode(packFrame({ ...encodeMessage(item.message, { seq: item.seq }), version: item.version })), Uint8Array.of(0));
      else {
        const wire = encodeFrame(encodeMessage(item.message, { seq: item.seq }));
        parts.push(wire.subarray(0, item.cut % (wire.length - 1)), Uint8Array.of(0));
      }
    }
    const stream = Buffer.concat(parts);
    // Random line lengths: the C side reads one continuous stream whatever the lines.
    const lines: string[] = [];
    for (let at = 0, i = 0; at < stream.length; i++) {
      const n = 1 + ((i * 7919) % 97);
      lines.push(stream.subarray(at, at + n).toString('hex'));
      at += n;
    }
    const file = path.join(dir, 'stream.hex');
    fs.writeFileSync(file, lines.join('\n') + '\n');

    const decoder = new FrameDecoder();
    const expected = decoder.push(stream).map(describeEvent);
    const c = decoder.counters;
    expected.push(`counters framesOk=${c.framesOk} crcErrors=${c.crcErrors} badCobs=${c.badCobs} tooShort=${c.tooShort} unknownVersion=${c.unknownVersion} oversize=${c.oversize} resyncs=${c.resyncs} bytesDiscarded=${c.bytesDiscarded}`);
    expect(c.framesOk).toBeGreaterThan(200);
    expect(c.crcErrors + c.badCobs + c.tooShort + c.oversize).toBeGreaterThan(20);
    expect(c.unknownVersion).toBeGreaterThan(5);
    expect(run(['decode', file]).trim().split('\n')).toEqual(expected);
  });
});

// The C test's line format, rebuilt from TypeScript's view of each event.
function describeEvent(e: DecodedEvent): string {
  if (e.kind === 'error') return `error ${e.code}`;
  const f = e.frame;
  let m: Message;
  try {
    m = decodeMessage(f);
  } catch (err) {
    if (err instanceof FrameError) return `${head(f)} bad-payload`;
    throw err;
  }
  return `${head(f)} ${describeMessage(m, f)}`;
}

const head = (f: Frame) => `frame seq=${f.seq} flags=${f.flags.toString(16).padStart(2, '0')}`;
const utf8Hex = (s: string) => Buffer.from(s, 'utf8').toString('hex');

function describeMessage(m: Message, f: Frame): string {
  switch (m.type) {
    case 'hello': return `hello boot=${m.bootId.toString(16).padStart(8, '0')} uptime=${m.uptimeMs} name=${utf8Hex(m.firmwareName)} version=${utf8Hex(m.firmwareVersion)}`;
    case 'telemetry': {
      const start = `telemetry sensor=${m.sensorId} time=${m.timeMs} base=${m.timeBase}`;
      if (m.body.encoding === 'compact') return `${start} values=${m.body.values.map(describeValue).join(',')}`;
      return `${start} body=${m.body.encoding}:${hexOf(f.payload.subarray(2 + varintBytes(m.timeMs)))}`;
    }
    case 'log': return `log level=${logLevels.indexOf(m.level)} time=${m.timeMs} base=${m.timeBase} text=${utf8Hex(m.text)}`;
    case 'heartbeat': return `heartbeat uptime=${m.uptimeMs}`;
    case 'ack': return `ack ack=${m.ackSeq}`;
    case 'nack': return `nack ack=${m.ackSeq} reason=${m.reason}`;
    case 'time-sync': return `time-sync wall=${m.wallMs}`;
    case 'time-sync-reply': return `time-sync-reply request=${m.requestSeq} wall=${m.wallMs} uptime=${m.uptimeMs}`;
  }
}

function describeValue(v: TelemetryValue): string {
  if (v.kind === 'f32' || v.kind === 'f64') {
    const b = Buffer.alloc(v.kind === 'f32' ? 4 : 8);
    if (v.kind === 'f32') b.writeFloatBE(v.value);
    else b.writeDoubleBE(v.value);
    return `${v.kind}:${b.toString('hex')}`;
  }
  return `${v.kind}:${v.value}`;
}

function varintBytes(v: number): number {
  let n = 1;
  while (v >= 128) { v = Math.floor(v / 128); n++; }
  return n;
}

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const ms = fc.maxSafeNat();
const text = (maxLength: number, bytesMax: number) => fc.string({ unit: 'grapheme', maxLength }).filter((s) => Buffer.byteLength(s) <= bytesMax);
const value: fc.Arbitrary<TelemetryValue> = fc.oneof(
  fc.integer({ min: 0, max: 0xff }).map((value) => ({ kind: 'u8' as const, value })),
  fc.integer({ min: -0x80, max: 0x7f }).map((value) => ({ kind: 'i8' as const, value })),
  fc.integer({ min: 0, max: 0xffff }).map((value) => ({ kind: 'u16' as const, value })),
  fc.integer({ min: -0x8000, max: 0x7fff }).map((value) => ({ kind: 'i16' as const, value })),
  u32.map((value) => ({ kind: 'u32' as const, value })),
  fc.integer({ min: -0x80000000, max: 0x7fffffff }).map((value) => ({ kind: 'i32' as const, value })),
  fc.float({ noNaN: true }).map((value) => ({ kind: 'f32' as const, value })),
  fc.double({ noNaN: true }).map((value) => ({ kind: 'f64' as const, value })),
);
const timeBase = fc.constantFrom('uptime' as const, 'wall' as const);
const message: fc.Arbitrary<Message> = fc.oneof(
  fc.record({ type: fc.constant('hello' as const), bootId: u32, uptimeMs: ms, firmwareName: text(10, 64), firmwareVersion: text(10, 64) }),
  fc.record({
    type: fc.constant('telemetry' as const), sensorId: fc.integer({ min: 0, max: 0xffff }), timeBase, timeMs: ms,
    body: fc.oneof(
      { weight: 4, arbitrary: fc.record({ encoding: fc.constant('compact' as const), values: fc.array(value, { maxLength: 20 }) }) },
      fc.record({ encoding: fc.constant('cbor' as const), value: fc.dictionary(fc.string({ maxLength: 4 }).filter((k) => k !== '__proto__'), fc.integer(), { maxKeys: 4 }) }),
      fc.record({ encoding: fc.constant('json' as const), value: fc.array(fc.integer(), { maxLength: 8 }) }),
    ),
  }),
  fc.record({ type: fc.constant('log' as const), level: fc.constantFrom(...logLevels), timeBase, timeMs: ms, text: text(100, 400) }),
  fc.record({ type: fc.constant('heartbeat' as const), uptimeMs: ms }),
  fc.record({ type: fc.constant('ack' as const), ackSeq: u32 }),
  fc.record({ type: fc.constant('nack' as const), ackSeq: u32, reason: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ type: fc.constant('time-sync' as const), wallMs: ms }),
  fc.record({ type: fc.constant('time-sync-reply' as const), requestSeq: u32, wallMs: ms, uptimeMs: ms }),
);
type StreamItem =
  | { kind: 'frame'; message: Message; seq: number; ack: boolean }
  | { kind: 'garbage'; bytes: Uint8Array }
  | { kind: 'version'; message: Message; seq: number; version: number }
  | { kind: 'truncated'; message: Message; seq: number; cut: number };
const streamItem: fc.Arbitrary<StreamItem> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('frame' as const), message, seq: u32, ack: fc.boolean() }) },
  fc.record({ kind: fc.constant('garbage' as const), bytes: fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ minLength: 520, maxLength: 900 })) }),
  fc.record({ kind: fc.constant('truncated' as const), message, seq: u32, cut: fc.nat() }),
  fc.record({ kind: fc.constant('version' as const), message, seq: u32, version: fc.integer({ min: 0, max: 255 }).filter((v) => v !== 1) }),
);
