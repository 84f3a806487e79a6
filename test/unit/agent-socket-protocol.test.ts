// Proves the agent socket codec round-trips every frame type whole, byte by byte and in random splits, refuses garbage and oversize frames with stable codes, and never throws anything but its own error on random bytes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AgentFrameDecoder, AgentSocketProtocolError, agentSocketFrameBytesMax, decodeFrameBody, encodeFrame, frameType, recordEncodedBytes,
  putFrameOverheadBytes, type AgentFrame, type PutFrame,
} from '../../sdk/protocol/agent-socket.ts';

const samples: AgentFrame[] = [
  { type: 'hello', versionMin: 1, versionMax: 1, pid: 4242, clientName: 'sensor-app' },
  { type: 'welcome', version: 1, frameBytesMax: agentSocketFrameBytesMax, batchRecordsMax: 10_000, destination: 'telemetry' },
  {
    type: 'put', requestId: 7, destination: '', records: [
      { partitionKey: 'dev-1', data: Buffer.from('{"t":21.5}') },
      { partitionKey: 'ключ-🔑', explicitHashKey: '340282366920938463463374607431768211455', data: Buffer.alloc(0), capturedAtMs: 1_700_000_000_123 },
      { partitionKey: 'x', data: Buffer.alloc(70_000, 9), capturedAtMs: 0 },
    ],
  },
  { type: 'ack', requestId: 0xffff_ffff, destination: 'telemetry', source: 'socket:app', firstSequence: 2 ** 40 + 5, count: 500 },
  { type: 'nack', requestId: 3, code: 'BUFFER_FULL', message: 'buffer /x is full: 10 of 10 bytes used' },
  { type: 'error', code: 'AGENT_PROTOCOL_INVALID', message: 'unknown frame type 99' },
  { type: 'session', sessionId: 'q3Vx0-_Zb1TzKkQ9mJc8Aw' },
];

function norm(f: AgentFrame): unknown {
  if (f.type !== 'put') return f;
  return { ...f, records: f.records.map((r) => ({ ...r, data: Buffer.from(r.data).toString('hex') })) };
}

function decodeAll(bytes: Buffer, splits: number[]): AgentFrame[] {
  const d = new AgentFrameDecoder({ frameBytesMax: agentSocketFrameBytesMax });
  const out: AgentFrame[] = [];
  let at = 0;
  for (const s of [...splits, bytes.length]) {
    const end = Math.min(bytes.length, Math.max(at, s));
    out.push(...d.push(bytes.subarray(at, end)));
    at = end;
  }
  expect(d.bufferedBytes).toBe(0);
  return out;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AgentSocketProtocolError);
    return (err as AgentSocketProtocolError).code;
  }
  return undefined;
}

describe('agent socket protocol: round trips', () => {
  it('encodes and decodes every frame type whole', () => {
    const bytes = Buffer.concat(samples.map(encodeFrame));
    expect(decodeAll(bytes, []).map(norm)).toEqual(samples.map(norm));
  });

  it('decodes byte by byte', () => {
    const bytes = Buffer.concat(samples.slice(0, 2).concat(samples.slice(3)).map(encodeFrame));
    const splits = Array.from({ length: bytes.length }, (_, i) => i);
    expect(decodeAll(bytes, splits).map(norm)).toEqual(samples.slice(0, 2).concat(samples.slice(3)).map(norm));
  });

  it('knows the exact size of a put frame before encoding it', () => {
    const put = samples[2] as PutFrame;
    const size = putFrameOverheadBytes(put.destination) + put.records.reduce((n, r) => n + recordEncodedBytes(r), 0);
    expect(encodeFrame(put).length).toBe(size);
  });

  it('round-trips random put frames in random splits (property)', () => {
    const record = fc.record({
      partitionKey: fc.string({ minLength: 1, maxLength: 256, unit: 'binary' }).filter((s) => Buffer.byteLength(s) <= 1024),
      data: fc.uint8Array({ maxLength: 300 }),
      explicitHashKey: fc.option(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }).map(String), { nil: undefined }),
      capturedAtMs: fc.option(fc.integer({ min: 0, max: 2 ** 48 - 1 }), { nil: undefined }),
    }, { requiredKeys: ['partitionKey', 'data'] });
    const put = fc.record({
      type: fc.constant('put' as const),
      requestId: fc.integer({ min: 0, max: 0xffff_ffff }),
      destination: fc.stringMatching(/^[A-Za-z0-9._-]{0,64}$/),
      records: fc.array(record, { minLength: 1, maxLength: 20 }),
    });
    fc.assert(fc.property(fc.array(put, { minLength: 1, maxLength: 4 }), fc.array(fc.nat(20_000), { maxLength: 8 }), (frames, splits) => {
      // Optional fields left undefined by fast-check are dropped so that they compare to what decoding yields.
      const clean = frames.map((f) => ({ ...f, records: f.records.map((r) => JSON.parse(JSON.stringify({ ...r, data: undefined })) as Record<string, unknown> & { partitionKey: string }).map((r, i) => ({ ...r, data: f.records[i]!.data })) }));
      const bytes = Buffer.concat(clean.map((f) => encodeFrame(f as PutFrame)));
      const got = decodeAll(bytes, [...splits].sort((a, b) => a - b));
      expect(got.map(norm)).toEqual(clean.map((f) => norm(f as PutFrame)));
    }), { numRuns: 200 });
  });
});

describe('agent socket protocol: garbage and limits', () => {
  it('refuses a frame over the limit from its header alone', () => {
    const d = new AgentFrameDecoder({ frameBytesMax: 1024 });
    const head = Buffer.from([0, 0, 8, 0, frameType.put]);
    expect(codeOf(() => d.push(head))).toBe('AGENT_FRAME_TOO_LARGE');
    // Poisoned: the framing is lost for good.
    expect(codeOf(() => d.push(encodeFrame(samples[0]!)))).toBe('AGENT_FRAME_TOO_LARGE');
  });

  it('returns the good frames before garbage in the same chunk, then reports the error', () => {
    const d = new AgentFrameDecoder({ frameBytesMax: 1 << 20 });
    const got = d.push(Buffer.concat([encodeFrame(samples[0]!), Buffer.from([0, 0, 0, 1, 42])]));
    expect(got.map((f) => f.type)).toEqual(['hello']);
    expect(d.error?.code).toBe('AGENT_PROTOCOL_INVALID');
    expect(codeOf(() => d.push(Buffer.alloc(0)))).toBe('AGENT_PROTOCOL_INVALID');
  });

  it('refuses unknown frame types, zero lengths, missing magic, short and long bodies', () => {
    const d = () => new AgentFrameDecoder({ frameBytesMax: 1 << 20 });
    expect(codeOf(() => d().push(Buffer.from('GET / HTTP/1.1\r\n\r\n')))).toBe('AGENT_FRAME_TOO_LARGE');
    expect(codeOf(() => d().push(Buffer.from([0, 0, 0, 1, 99])))).toBe('AGENT_PROTOCOL_INVALID');
    expect(codeOf(() => d().push(Buffer.from([0, 0, 0, 0, 1])))).toBe('AGENT_PROTOCOL_INVALID');
    const hello = encodeFrame(samples[0]!);
    const noMagic = Buffer.from(hello);
    noMagic.write('XXXX', 5, 'latin1');
    expect(codeOf(() => d().push(noMagic))).toBe('AGENT_PROTOCOL_INVALID');
    const short = Buffer.from(hello.subarray(0, hello.length - 2));
    short.writeUInt32BE(short.length - 4, 0);
    expect(codeOf(() => d().push(short))).toBe('AGENT_PROTOCOL_INVALID');
    const long = Buffer.concat([hello, Buffer.from([0])]);
    long.writeUInt32BE(long.length - 4, 0);
    expect(codeOf(() => d().push(long))).toBe('AGENT_PROTOCOL_INVALID');
  });

  it('version 2: a session frame is type 7 with a str8 id; an id outside [A-Za-z0-9_-]{8,64} is refused both ways', () => {
    expect([...encodeFrame({ type: 'session', sessionId: 'abcdefgh' })]).toEqual([0, 0, 0, 10, frameType.session, 8, ...Buffer.from('abcdefgh')]);
    expect(() => encodeFrame({ type: 'session', sessionId: 'short' })).toThrow(AgentSocketProtocolError);
    expect(codeOf(() => decodeFrameBody(frameType.session, Buffer.from([7, ...Buffer.from('bad id!')])))).toBe('AGENT_PROTOCOL_INVALID');
  });

  it('refuses a put whose record count is a lie, bad flags, bad hash keys and oversize data', () => {
    const put = encodeFrame({ type: 'put', requestId: 1, destination: 'd', records: [{ partitionKey: 'k', data: Buffer.from('x') }] });
    const body = (b: Buffer) => b.subarray(5);
    const lie = Buffer.from(put);
    lie.writeUInt32BE(1_000_000, 5 + 4 + 2);
    expect(codeOf(() => decodeFrameBody(frameType.put, body(lie)))).toBe('AGENT_PROTOCOL_INVALID');
    const flags = Buffer.from(put);
    flags[5 + 4 + 2 + 4] = 0x80;
    expect(codeOf(() => decodeFrameBody(frameType.put, body(flags)))).toBe('AGENT_PROTOCOL_INVALID');
    expect(codeOf(() => encodeFrame({ type: 'put', requestId: 1, destination: '', records: [{ partitionKey: 'k', explicitHashKey: '12a', data: Buffer.alloc(0) }] }))).toBe('AGENT_PROTOCOL_INVALID');
    expect(codeOf(() => encodeFrame({ type: 'put', requestId: 1, destination: '', records: [{ partitionKey: '', data: Buffer.alloc(0) }] }))).toBe('AGENT_PROTOCOL_INVALID');
    expect(codeOf(() => encodeFrame({ type: 'put', requestId: 1, destination: '', records: [{ partitionKey: 'k', data: Buffer.alloc((1 << 20) + 1) }] }))).toBe('AGENT_PROTOCOL_INVALID');
  });

  it('throws only its own error on random bytes (fuzz)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 1, max: 6 }), (bytes, type) => {
      const framed = Buffer.concat([Buffer.from([0, 0, 0, bytes.length + 1, type]), bytes]);
      framed.writeUInt32BE(bytes.length + 1, 0);
      try {
        new AgentFrameDecoder({ frameBytesMax: 1 << 20 }).push(framed);
      } catch (err) {
        expect(err).toBeInstanceOf(AgentSocketProtocolError);
      }
    }), { numRuns: 2000 });
  });
});
