// Proves the event-stream codec (sdk/protocol/event-stream.ts) is byte-compatible with the AWS SDK's own (@smithy/core's EventStreamCodec) in both directions, checks both CRCs, and splits a byte stream into messages however it is chunked (byte by byte, random splits via fast-check).
import { EventStreamCodec } from '@smithy/core/event-streams';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  crc32, decodeEventMessage, encodeEventMessage, EventStreamDecoder, EventStreamError, jsonEventMessage, jsonExceptionMessage, type EventMessage,
} from '../../sdk/protocol/event-stream.ts';

const utf8 = new TextEncoder();
const smithy = new EventStreamCodec((b: Uint8Array) => Buffer.from(b).toString('utf8'), (s: string) => new Uint8Array(Buffer.from(s, 'utf8')));

const sample: EventMessage = {
  headers: {
    ':event-type': 'SubscribeToShardEvent', ':content-type': 'application/json', ':message-type': 'event',
    flag: true, off: false, count: -7, big: 1234567890123n, raw: Uint8Array.of(1, 2, 3), when: new Date(1_700_000_000_123),
  },
  body: utf8.encode('{"Records":[]}'),
};

describe('crc32', () => {
  it('is the IEEE CRC-32 (zlib), not CRC-32C', () => {
    expect(crc32(utf8.encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array())).toBe(0);
  });
});

describe('encode and decode', () => {
  it('round-trips every header type', () => {
    const back = decodeEventMessage(encodeEventMessage(sample));
    expect(back.headers).toEqual(sample.headers);
    expect(Buffer.from(back.body).toString()).toBe('{"Records":[]}');
  });

  it('matches @smithy/core byte for byte, and each side decodes the other', () => {
    const ours = encodeEventMessage(jsonEventMessage('initial-response', utf8.encode('{}')));
    const theirs = smithy.encode({
      headers: {
        ':event-type': { type: 'string', value: 'initial-response' },
        ':content-type': { type: 'string', value: 'application/json' },
        ':message-type': { type: 'string', value: 'event' },
      },
      body: utf8.encode('{}'),
    });
    expect(Buffer.from(ours).equals(Buffer.from(theirs))).toBe(true);

    const decoded = smithy.decode(encodeEventMessage(sample));
    expect(decoded.headers[':event-type']).toEqual({ type: 'string', value: 'SubscribeToShardEvent' });
    expect(decoded.headers.flag).toEqual({ type: 'boolean', value: true });
    expect(decoded.headers.off).toEqual({ type: 'boolean', value: false });
    expect(decoded.headers.count).toEqual({ type: 'integer', value: -7 });
    expect(decoded.headers.big!.value.toString()).toBe('1234567890123');
    expect(decoded.headers.when).toEqual({ type: 'timestamp', value: new Date(1_700_000_000_123) });
    expect(Buffer.from(decoded.body).toString()).toBe('{"Records":[]}');

    const exception = decodeEventMessage(smithy.encode({
      headers: { ':message-type': { type: 'string', value: 'exception' }, ':exception-type': { type: 'string', value: 'ResourceInUseException' } },
      body: utf8.encode('{"message":"busy"}'),
    }));
    expect(exception.headers).toEqual({ ':message-type': 'exception', ':exception-type': 'ResourceInUseException' });
  });

  it('writes exceptions as the SDKs read them', () => {
    const m = decodeEventMessage(encodeEventMessage(jsonExceptionMessage('ResourceNotFoundException', 'gone')));
    expect(m.headers[':message-type']).toBe('exception');
    expect(m.headers[':exception-type']).toBe('ResourceNotFoundException');
    expect(JSON.parse(Buffer.from(m.body).toString())).toEqual({ message: 'gone' });
  });

  it('refuses a bad prelude CRC, a bad message CRC, a wrong length and a truncated header', () => {
    const good = encodeEventMessage(sample);
    const prelude = good.slice();
    prelude[9]! ^= 1;
    expect(() => decodeEventMessage(prelude)).toThrow('prelude CRC32 mismatch');
    const body = good.slice();
    body[good.length - 6]! ^= 1;
    expect(() => decodeEventMessage(body)).toThrow('message CRC32 mismatch');
    expect(() => decodeEventMessage(good.subarray(0, good.length - 1))).toThrow(EventStreamError);
    expect(() => decodeEventMessage(new Uint8Array(8))).toThrow('shorter than');
    // A headers length that points past the headers: CRCs recomputed so only the header parse can object.
    const bad = encodeEventMessage({ headers: { ':message-type': 'event' }, body: new Uint8Array() });
    const view = new DataView(bad.buffer);
    view.setUint32(4, view.getUint32(4) + 1);
    view.setUint32(8, crc32(bad, 0, 8));
    view.setUint32(bad.length - 4, crc32(bad, 0, bad.length - 4));
    expect(() => decodeEventMessage(bad)).toThrow(EventStreamError);
  });

  it('refuses header values it cannot represent', () => {
    expect(() => encodeEventMessage({ headers: { n: 1.5 }, body: new Uint8Array() })).toThrow('32-bit');
    expect(() => encodeEventMessage({ headers: { ['x'.repeat(256)]: 'v' }, body: new Uint8Array() })).toThrow('1-255');
  });
});

describe('EventStreamDecoder', () => {
  const messages = [sample, jsonEventMessage('SubscribeToShardEvent', utf8.encode('{"a":1}')), jsonExceptionMessage('InternalFailure', 'x')];
  const stream = Buffer.concat(messages.map((m) => encodeEventMessage(m)));

  it('decodes a stream fed byte by byte', () => {
    const d = new EventStreamDecoder();
    const out: EventMessage[] = [];
    for (const b of stream) out.push(...d.push(Uint8Array.of(b)));
    d.finish();
    expect(out.map((m) => m.headers[':message-type'])).toEqual(['event', 'event', 'exception']);
    expect(out[0]!.headers).toEqual(sample.headers);
  });

  it('decodes a stream in any split', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 12 }), (cuts) => {
        const points = [...new Set(cuts)].sort((a, b) => a - b);
        const d = new EventStreamDecoder();
        const out: EventMessage[] = [];
        let at = 0;
        for (const p of [...points, stream.length]) {
          out.push(...d.push(stream.subarray(at, p)));
          at = p;
        }
        d.finish();
        expect(out.length).toBe(3);
        expect(Buffer.from(out[1]!.body).toString()).toBe('{"a":1}');
      }),
    );
  });

  it('reports a stream that ends inside a message, and an absurd length', () => {
    const d = new EventStreamDecoder();
    d.push(stream.subarray(0, 10));
    expect(d.bufferedBytes).toBe(10);
    expect(() => d.finish()).toThrow('ended inside a message');
    expect(() => new EventStreamDecoder().push(Uint8Array.of(0, 0, 0, 3))).toThrow('out of range');
  });
});
