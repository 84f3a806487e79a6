/**
 * The shared test vectors: messages, their frames' wire bytes, and COBS
 * cases. `test-vectors.json` is this module's output, checked in so that the
 * C test (and other implementations) read the same bytes; a unit test fails
 * when the two differ. Regenerate with
 * `node --import tsx firmware-bridge/vectors.ts > firmware-bridge/test-vectors.json`.
 */
import { fileURLToPath } from 'node:url';
import { cobsEncode } from './cobs.ts';
import { encodeFrame } from './frame.ts';
import { encodeMessage, type EncodeOptions, type Message } from './messages.ts';

export interface FrameVector { name: string; seq: number; ackRequested: boolean; retransmit: boolean; message: Message; hex: string }

const longText = 'x'.repeat(300);

/** The inputs. Names are unique and none is a prefix of another followed by a quote (the C test finds them by text search). */
export const vectorInputs: ReadonlyArray<{ name: string; options: EncodeOptions; message: Message }> = [
  { name: 'hello', options: { seq: 0, ackRequested: true }, message: { type: 'hello', bootId: 0xdeadbeef, uptimeMs: 1234, firmwareName: 'weather-node', firmwareVersion: '1.4.2' } },
  {
    name: 'telemetry-compact', options: { seq: 1 },
    message: { type: 'telemetry', sensorId: 3, timeBase: 'uptime', timeMs: 123456, body: { encoding: 'compact', values: [{ kind: 'f32', value: 21.5 }, { kind: 'i16', value: -40 }, { kind: 'u8', value: 200 }] } },
  },
  {
    name: 'telemetry-all-kinds', options: { seq: 2, ackRequested: true },
    message: {
      type: 'telemetry', sensorId: 0x1234, timeBase: 'uptime', timeMs: 0, body: {
        encoding: 'compact', values: [
          { kind: 'u8', value: 0 }, { kind: 'i8', value: -128 }, { kind: 'u16', value: 65535 }, { kind: 'i16', value: -32768 },
          { kind: 'u32', value: 4294967295 }, { kind: 'i32', value: -2147483648 }, { kind: 'f32', value: -0.125 }, { kind: 'f64', value: 3.141592653589793 },
        ],
      },
    },
  },
  {
    name: 'telemetry-wall-retransmit', options: { seq: 0x01020304, ackRequested: true, retransmit: true },
    message: { type: 'telemetry', sensorId: 7, timeBase: 'wall', timeMs: 1_764_000_000_000, body: { encoding: 'compact', values: [{ kind: 'u32', value: 0 }] } },
  },
  { name: 'telemetry-cbor', options: { seq: 3 }, message: { type: 'telemetry', sensorId: 9, timeBase: 'uptime', timeMs: 5000, body: { encoding: 'cbor', value: { t: 21, h: 40 } } } },
  { name: 'telemetry-json', options: { seq: 4 }, message: { type: 'telemetry', sensorId: 9, timeBase: 'uptime', timeMs: 5001, body: { encoding: 'json', value: { t: 21.5 } } } },
  { name: 'log-info', options: { seq: 5 }, message: { type: 'log', level: 'info', timeBase: 'uptime', timeMs: 2000, text: 'boot ok' } },
  { name: 'log-long', options: { seq: 6 }, message: { type: 'log', level: 'error', timeBase: 'uptime', timeMs: 2001, text: longText } },
  { name: 'heartbeat', options: { seq: 0xffffffff }, message: { type: 'heartbeat', uptimeMs: 60000 } },
  { name: 'ack', options: { seq: 10 }, message: { type: 'ack', ackSeq: 2 } },
  { name: 'nack', options: { seq: 11 }, message: { type: 'nack', ackSeq: 3, reason: 1 } },
  { name: 'time-sync', options: { seq: 12 }, message: { type: 'time-sync', wallMs: 1_764_000_000_123 } },
  { name: 'time-sync-reply', options: { seq: 8 }, message: { type: 'time-sync-reply', requestSeq: 12, wallMs: 1_764_000_000_123, uptimeMs: 99999 } },
];

export const cobsVectors: ReadonlyArray<{ decoded: string; encoded: string }> = [
  '', '00', '0000', '001100', '11220033', '11223344', '11000000',
  hexOf(Uint8Array.from({ length: 254 }, (_, i) => i + 1)),
  hexOf(Uint8Array.from({ length: 255 }, (_, i) => i)),
  hexOf(Uint8Array.from({ length: 255 }, (_, i) => i + 1)),
].map((decoded) => ({ decoded, encoded: hexOf(cobsEncode(Buffer.from(decoded, 'hex'))) }));

export function frameVectors(): FrameVector[] {
  return vectorInputs.map(({ name, options, message }) => ({
    name, seq: options.seq, ackRequested: options.ackRequested ?? false, retransmit: options.retransmit ?? false, message,
    hex: hexOf(encodeFrame(encodeMessage(message, options))),
  }));
}

/** The checked-in file's exact text. */
export function vectorsJson(): string {
  return JSON.stringify({ protocolVersion: 1, note: 'hex is the wire bytes: COBS(header, payload, CRC-32C) and the 0x00 delimiter', frames: frameVectors(), cobs: cobsVectors }, null, 2) + '\n';
}

export function hexOf(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.stdout.write(vectorsJson());
