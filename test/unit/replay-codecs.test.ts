// Proves the pure parts of replay on their own: the capture line codec (both line shapes, every
// rejection reason, epoch-seconds and ISO-8601 times, round trip), --partition-key rules, the lane
// hash's stability, sequence/time bounds, and Firehose object decoding (each compression undone,
// KPL aggregates split at their checksums, lines split) against the gateway's own encoders.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compress } from '../../gateway/firehose/compression.ts';
import { encryptObject } from '../../gateway/firehose/object-encryption.ts';
import { formatAgentLine, formatCaptureLine, parseCaptureBytes, parseCaptureLine } from '../../sdk/protocol/capture.ts';
import { putRecordsBody } from '../../replay/targets/stream.ts';
import { aggregate } from '../../sdk/protocol/kpl-aggregation.ts';
import { laneOf } from '../../replay/engine.ts';
import { decompress, detectFormat, openEnvelope, splitBody } from '../../replay/firehose-objects.ts';
import { keyFor, parseKeyRule } from '../../replay/partition-key.ts';
import { parseBound } from '../../replay/stream-history.ts';

describe('capture lines', () => {
  it('round trips any record, and reads agent export lines', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.string({ minLength: 1, maxLength: 256 }), fc.integer({ min: 0, max: 4_000_000_000_000 }), (data, key, ms) => {
      const data64 = Buffer.from(data).toString('base64');
      const line = formatCaptureLine({ data64, partitionKey: key, sequenceNumber: '49590338271490256608559692538361571095921575989136588898', timeMs: ms });
      const p = parseCaptureLine(line);
      expect(p).toEqual({ kind: 'record', record: { data64, dataBytes: data.length, partitionKey: key, sequenceNumber: '49590338271490256608559692538361571095921575989136588898', timeMs: ms } });
    }));
    const agent = parseCaptureLine(formatAgentLine({ data64: 'aGk=', partitionKey: 'k', capturedAtMs: 1700000000123, source: 'http', seq: 7 }));
    expect(agent).toEqual({ kind: 'record', record: { data64: 'aGk=', dataBytes: 2, partitionKey: 'k', timeMs: 1700000000123, capturedAtMs: 1700000000123, source: 'http', seq: 7 } });
  });

  it('reads lines straight from the bytes exactly as the JSON parse does, or leaves them to it', () => {
    const line = fc.oneof(
      fc.record({ data: fc.uint8Array({ maxLength: 64 }), key: fc.string({ minLength: 0, maxLength: 12 }), seq: fc.option(fc.stringMatching(/^\d{1,30}$/)), ms: fc.option(fc.integer({ min: 0, max: 4e12 })), ehk: fc.option(fc.stringMatching(/^\d{1,5}$/)) })
        .map((r) => formatCaptureLine({ data64: Buffer.from(r.data).toString('base64'), partitionKey: r.key, ...(r.seq !== null ? { sequenceNumber: r.seq } : {}), ...(r.ms !== null ? { timeMs: r.ms } : {}), ...(r.ehk !== null ? { explicitHashKey: r.ehk } : {}) })),
      fc.string({ maxLength: 80 }).map((junk) => `{"Data":"${junk}","PartitionKey":"k"}`),
      fc.string({ maxLength: 80 }),
    );
    fc.assert(fc.property(line, fc.string({ maxLength: 4 }), (l, pad) => {
      const b = Buffer.from(pad + l + '\n', 'utf8');
      const start = Buffer.byteLength(pad);
      const fast = parseCaptureBytes(b, start, b.length - 1);
      if (fast) expect(fast).toEqual(parseCaptureLine(l));
    }), { numRuns: 2000 });
    const typical = formatCaptureLine({ data64: 'aGk=', partitionKey: 'dev-ü', sequenceNumber: '4959', timeMs: 1733580000123 });
    expect(parseCaptureBytes(Buffer.from(typical), 0, Buffer.byteLength(typical))).toEqual({ kind: 'record', record: { data64: 'aGk=', dataBytes: 2, partitionKey: 'dev-ü', sequenceNumber: '4959', timeMs: 1733580000123 } });
    expect(parseCaptureBytes(Buffer.from(typical), 0, 40)).toBeUndefined();
  });

  it('builds PutRecords bodies equal to JSON.stringify of the request', () => {
    const records = [{ ordinal: 0, data64: 'aGk=', dataBytes: 2, partitionKey: 'ü "quoted"' }, { ordinal: 1, data64: '', dataBytes: 0, partitionKey: 'k', explicitHashKey: '42' }];
    expect(putRecordsBody(JSON.stringify('s'), records).toString()).toBe(JSON.stringify({ StreamName: 's', Records: [{ Data: 'aGk=', PartitionKey: 'ü "quoted"' }, { Data: '', PartitionKey: 'k', ExplicitHashKey: '42' }] }));
  });

  it('takes ApproximateArrivalTimestamp as epoch seconds or ISO-8601', () => {
    const at = (v: unknown) => (parseCaptureLine(JSON.stringify({ Data: '', PartitionKey: 'k', ApproximateArrivalTimestamp: v })) as { record: { timeMs: number } }).record.timeMs;
    expect(at(1733580000.123)).toBe(1733580000123);
    expect(at('1733580000.5')).toBe(1733580000500);
    expect(at('2024-12-07T14:00:00.250Z')).toBe(Date.parse('2024-12-07T14:00:00.250Z'));
  });

  it('names what is wrong with a bad line', () => {
    const reason = (l: string) => (parseCaptureLine(l) as { reason?: string }).reason;
    expect(reason('{')).toBe('not JSON');
    expect(reason('[1]')).toBe('not a JSON object');
    expect(reason('{"PartitionKey":"k"}')).toBe('Data is missing or not a string');
    expect(reason('{"Data":"a=b=","PartitionKey":"k"}')).toBe('Data is not base64');
    expect(reason('{"Data":"abc","PartitionKey":"k"}')).toBe('Data is not base64');
    expect(reason('{"Data":"","PartitionKey":""}')).toBe('PartitionKey is missing or empty');
    expect(reason('{"data":"!","partitionKey":"k"}')).toBe('data is not base64');
    expect(reason('{"Data":"","PartitionKey":"k","ApproximateArrivalTimestamp":"yesterday"}')).toBe('ApproximateArrivalTimestamp is neither epoch seconds nor ISO-8601');
  });
});

describe('partition keys, lanes and bounds', () => {
  const data = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64');
  it('keeps, fixes or extracts keys by JSON path', () => {
    expect(keyFor(parseKeyRule(undefined), 'orig', data({}))).toEqual({ key: 'orig' });
    expect(keyFor(parseKeyRule('site-7'), 'orig', data({}))).toEqual({ key: 'site-7' });
    expect(keyFor(parseKeyRule('$.deviceId'), 'o', data({ deviceId: 'd-1' }))).toEqual({ key: 'd-1' });
    expect(keyFor(parseKeyRule('$.meta.ids[1]'), 'o', data({ meta: { ids: [1, 42] } }))).toEqual({ key: '42' });
    expect(keyFor(parseKeyRule("$['odd key']"), 'o', data({ 'odd key': true }))).toEqual({ key: 'true' });
    expect(keyFor(parseKeyRule('$.deviceId'), 'o', data({ other: 1 }))).toEqual({ problem: '$.deviceId is not found in the data' });
    expect(keyFor(parseKeyRule('$.deviceId'), 'o', data({ deviceId: {} }))).toEqual({ problem: '$.deviceId is not a non-empty string or number in the data' });
    expect(() => parseKeyRule('$.a..b')).toThrow('cannot read the path at "..b"');
  });

  it('hashes a key to the same lane every time (a resumed run keeps per-key order)', () => {
    // Pinned: a checkpoint written by this version must route keys to the same lanes when resumed by the next.
    expect([laneOf('dev-1', 16), laneOf('dev-2', 16), laneOf('', 16), laneOf('ü', 16)]).toEqual([6, 3, 0x811c9dc5 % 16, 11]);
    const counts = new Array(16).fill(0);
    for (let i = 0; i < 16_000; i++) counts[laneOf(`key-${i}`, 16)]++;
    for (const n of counts) expect(n).toBeGreaterThan(800);
  });

  it('reads --from/--to as a time or a sequence number', () => {
    expect(parseBound('2026-12-07T10:00:00Z', '--from')).toEqual({ kind: 'time', ms: Date.parse('2026-12-07T10:00:00Z') });
    expect(parseBound('1733580000.5', '--from')).toEqual({ kind: 'time', ms: 1733580000500 });
    expect(parseBound('49590338271490256608559692538361571095921575989136588898', '--to')).toEqual({ kind: 'sequence', value: '49590338271490256608559692538361571095921575989136588898' });
    expect(() => parseBound('soon', '--to')).toThrow('--to must be a time');
  });
});

describe('Firehose objects', () => {
  const body = Buffer.from(Array.from({ length: 3000 }, (_, i) => `{"n":${i},"pad":"${'x'.repeat(i % 97)}"}\n`).join(''));
  it('undoes every CompressionFormat the gateway writes', async () => {
    for (const [format, name] of [['UNCOMPRESSED', 'o'], ['GZIP', 'o.gz'], ['ZIP', 'o.zip'], ['Snappy', 'o.snappy'], ['HADOOP_SNAPPY', 'o.hsnappy']] as const) {
      const packed = await compress(format, body, { entryName: 'o', mtimeMs: 0 });
      const f = detectFormat(packed, name);
      expect(f).not.toBe('parquet');
      expect(decompress(f as Exclude<typeof f, 'parquet'>, packed).equals(body), format).toBe(true);
    }
  });

  it('opens the encryption envelope with the master key', () => {
    const key = Buffer.alloc(32, 7);
    const sealed = encryptObject(key, 'arn:aws:kms:us-east-1:000000000000:key/k', body);
    expect(openEnvelope(sealed, key, 'o').equals(body)).toBe(true);
    expect(() => openEnvelope(sealed, undefined, 'o')).toThrow('is encrypted');
    expect(() => openEnvelope(sealed, Buffer.alloc(32, 8), 'o')).toThrow('cannot decrypt');
  });

  it('splits lines, and KPL aggregates back to back (even when user data looks like a checksum or magic)', () => {
    expect(splitBody(Buffer.from('a\nbb\n\nc'), 'lines').map((r) => r.data.toString())).toEqual(['a', 'bb', '', 'c']);
    expect(splitBody(Buffer.from('a\nb'), 'none').map((r) => r.data.toString())).toEqual(['a\nb']);
    fc.assert(fc.property(fc.array(fc.array(fc.record({ partitionKey: fc.string({ minLength: 1, maxLength: 8 }), data: fc.uint8Array({ maxLength: 40 }) }), { minLength: 1, maxLength: 20 }), { minLength: 1, maxLength: 5 }), (groups) => {
      const packed = Buffer.concat(groups.map((g) => aggregate(g)));
      const got = splitBody(packed, 'auto');
      expect(got.map((r) => [r.partitionKey, Buffer.from(r.data).toString('hex')])).toEqual(groups.flat().map((u) => [u.partitionKey, Buffer.from(u.data).toString('hex')]));
    }), { numRuns: 200 });
  });
});
