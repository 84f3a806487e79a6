/**
 * Firmware-bridge decoder benchmark: how fast FrameDecoder turns a serial
 * byte stream into frames, against what the fastest common UART line can
 * deliver. The stream is ~33-byte telemetry frames (sensor id, uptime, two
 * f32 and an i16, the size a weather or power sensor sends), fed in chunks of
 * random size as a serial port's reads return them. Prints one JSON line and
 * a table; the target is that a saturated 921600-baud line needs < 10% of
 * one core.
 *
 *   npm run bench -- bridge [--quick] [--frames N]
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { decodeMessage, encodeFrame, encodeMessage, FrameDecoder } from '../firmware-bridge/codec.ts';

export const description = 'Firmware bridge: FrameDecoder frames/s and bytes/s vs a saturated 921600-baud line (target < 10% of a core)';

export const settings = Object.freeze({
  baud: 921_600,
  /** 8N1: a start bit, eight data bits, a stop bit. */
  bitsPerByte: 10,
  coreShareMaxPct: 10,
  framesFull: 400_000,
  framesQuick: 50_000,
  roundsFull: 5,
  roundsQuick: 2,
  /** Byte-at-a-time feeding is the worst case; it runs on this fraction of the frames. */
  bytewiseShare: 0.1,
});

interface Profile { name: string; chunkBytesMin: number; chunkBytesMax: number; typed: boolean }

const profiles: Profile[] = [
  { name: 'serial reads 1-64 B', chunkBytesMin: 1, chunkBytesMax: 64, typed: false },
  { name: 'serial reads 1-64 B + typed decode', chunkBytesMin: 1, chunkBytesMax: 64, typed: true },
  { name: 'bulk reads 1-4096 B', chunkBytesMin: 1, chunkBytesMax: 4096, typed: false },
  { name: 'byte at a time', chunkBytesMin: 1, chunkBytesMax: 1, typed: false },
];

interface Result {
  profile: string;
  frames: number;
  bytes: number;
  framesPerS: number;
  bytesPerS: number;
  cpuUsPer1000Frames: number;
  lineCorePct: number;
}

/** A deterministic generator so every run measures the same stream. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

function buildStream(frames: number): Buffer {
  const rand = rng(1);
  const parts: Uint8Array[] = [];
  let uptimeMs = 3_600_000;
  for (let seq = 0; seq < frames; seq++) {
    uptimeMs += 10 + Math.floor(rand() * 20);
    parts.push(encodeFrame(encodeMessage({
      type: 'telemetry', sensorId: seq % 16, timeBase: 'uptime', timeMs: uptimeMs,
      body: { encoding: 'compact', values: [
        { kind: 'f32', value: Math.fround(20 + rand() * 5) },
        { kind: 'f32', value: Math.fround(40 + rand() * 20) },
        { kind: 'i16', value: Math.floor(rand() * 2000) - 1000 },
      ] },
    }, { seq })));
  }
  return Buffer.concat(parts);
}

function chunk(stream: Buffer, p: Profile): Uint8Array[] {
  const rand = rng(2);
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < stream.length;) {
    const n = p.chunkBytesMin + Math.floor(rand() * (p.chunkBytesMax - p.chunkBytesMin + 1));
    chunks.push(stream.subarray(at, at + n));
    at += n;
  }
  return chunks;
}

function decodeAll(chunks: Uint8Array[], typed: boolean): number {
  const d = new FrameDecoder();
  let frames = 0;
  for (const c of chunks) {
    for (const ev of d.push(c)) {
      if (ev.kind !== 'frame') throw new Error(`unexpected ${ev.code} in a clean stream`);
      if (typed) decodeMessage(ev.frame);
      frames++;
    }
  }
  return frames;
}

function measure(stream: Buffer, frames: number, p: Profile, rounds: number): Result {
  const chunks = chunk(stream, p);
  decodeAll(chunks, p.typed); // warm-up: the JIT compiles before the clock starts
  let best = Infinity;
  let cpuUs = Infinity;
  for (let r = 0; r < rounds; r++) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const n = decodeAll(chunks, p.typed);
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    if (n !== frames) throw new Error(`decoded ${n} frames of ${frames}`);
    best = Math.min(best, ms);
    cpuUs = Math.min(cpuUs, cpu.user + cpu.system);
  }
  const bytesPerS = stream.length / (best / 1000);
  const lineBytesPerS = settings.baud / settings.bitsPerByte;
  return {
    profile: p.name,
    frames,
    bytes: stream.length,
    framesPerS: Math.round(frames / (best / 1000)),
    bytesPerS: Math.round(bytesPerS),
    cpuUsPer1000Frames: Math.round((cpuUs / frames) * 1000 * 10) / 10,
    lineCorePct: Math.round((lineBytesPerS / bytesPerS) * 100 * 1000) / 1000,
  };
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { quick: { type: 'boolean', default: false }, frames: { type: 'string' } } });
  const frames = values.frames ? Number(values.frames) : values.quick ? settings.framesQuick : settings.framesFull;
  const rounds = values.quick ? settings.roundsQuick : settings.roundsFull;
  const stream = buildStream(frames);
  const bytewiseFrames = Math.max(1000, Math.floor(frames * settings.bytewiseShare));
  const bytewiseStream = buildStream(bytewiseFrames);
  const results = profiles.map((p) =>
    p.chunkBytesMax === 1 ? measure(bytewiseStream, bytewiseFrames, p, rounds) : measure(stream, frames, p, rounds),
  );
  const lineBytesPerS = settings.baud / settings.bitsPerByte;
  const frameBytesAvg = stream.length / frames;
  const line = { baud: settings.baud, bytesPerS: lineBytesPerS, frameBytesAvg: Math.round(frameBytesAvg * 10) / 10, framesPerS: Math.round(lineBytesPerS / frameBytesAvg) };
  const worstPct = Math.max(...results.filter((r) => r.profile.startsWith('serial')).map((r) => r.lineCorePct));
  const target = { coreShareMaxPct: settings.coreShareMaxPct, serialWorstPct: worstPct, pass: worstPct < settings.coreShareMaxPct };
  process.stdout.write(JSON.stringify({ bench: 'bridge', node: process.version, line, results, target }) + '\n\n');

  const header = ['profile', 'frames/s', 'MB/s', 'CPU µs/1000 frames', '% core at 921600 baud'];
  const rows = results.map((r) => [r.profile, r.framesPerS.toLocaleString('en-US'), (r.bytesPerS / 1e6).toFixed(1), r.cpuUsPer1000Frames.toFixed(1), r.lineCorePct.toFixed(2) + '%']);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  process.stdout.write([fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt)].join('\n') + '\n\n');
  process.stdout.write(
    `line: ${settings.baud} baud 8N1 = ${lineBytesPerS.toLocaleString('en-US')} bytes/s = ${line.framesPerS.toLocaleString('en-US')} frames/s of ${line.frameBytesAvg} bytes\n` +
    `target: a saturated line needs < ${settings.coreShareMaxPct}% of one core (serial reads): ${worstPct.toFixed(2)}% ${target.pass ? 'PASS' : 'FAIL'}\n`,
  );
}
