// Proves the pure protocol codecs (CRC-32C, CBOR, sequence numbers, hash keys) and the request validator are exact: known vectors byte by byte, every truncation, random values checked against independent oracles (a bitwise CRC, the `cbor` npm package) with fast-check, and a kinesalite-style matrix of wrong types and out-of-range values with AWS's exact messages.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBase64Blob, validateInput, type StructureShape } from '../../gateway/http/validate.ts';
import { streamsActions } from '../../gateway/streams/actions/index.ts';
import { CborError, cborDecode, cborEncode } from '../../sdk/protocol/cbor.ts';
import { crc32c } from '../../sdk/protocol/crc32c.ts';
import { AwsError } from '../../sdk/protocol/errors.ts';
import { evenHashKeyRanges, hashKeyFromBigInt, hashKeyFromDecimal, hashKeyOfPartitionKey, hashKeyToBigInt } from '../../sdk/protocol/streams/hash-key.ts';
import { hashKeyMax } from '../../sdk/protocol/streams/limits.ts';
import { formatSequenceNumber, parseSequenceNumber, sequenceCounterMax, shardIdOf, shardIndexOf, type SequenceParts } from '../../sdk/protocol/streams/sequence-number.ts';

interface CborModule {
  encode(value: unknown): Buffer;
  decodeFirstSync(input: Buffer, options?: { tags?: Record<number, (v: unknown) => unknown> }): unknown;
  Tagged: new (tag: number, value: unknown) => unknown;
}
/** An independent CBOR implementation (kinesalite's dependency) as the oracle. */
const oracle = createRequire(import.meta.url)('cbor') as CborModule;

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('crc32c', () => {
  /** The textbook bit-at-a-time CRC-32C, to check the slicing-by-8 tables against. */
  function reference(bytes: Uint8Array): number {
    let c = 0xffffffff;
    for (const b of bytes) {
      c ^= b;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    }
    return (c ^ 0xffffffff) >>> 0;
  }

  it('matches known vectors (the check value and RFC 3720 iSCSI test patterns)', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(0))).toBe(0);
    expect(crc32c(Buffer.alloc(32, 0x00))).toBe(0x8a9136aa);
    expect(crc32c(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43);
    expect(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => i)))).toBe(0x46dd794e);
    expect(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i)))).toBe(0x113fdb5c);
    expect(crc32c(Buffer.from('The quick brown fox jumps over the lazy dog'))).toBe(0x22620404);
  });

  it('continues a sum across every split point and honours start/end', () => {
    const whole = Buffer.from('123456789');
    for (let i = 0; i <= whole.length; i++) {
      expect(crc32c(whole.subarray(i), crc32c(whole.subarray(0, i)))).toBe(0xe3069283);
      expect(crc32c(whole, crc32c(whole, 0, 0, i), i)).toBe(0xe3069283);
    }
    // Byte by byte.
    let c = 0;
    for (let i = 0; i < whole.length; i++) c = crc32c(whole, c, i, i + 1);
    expect(c).toBe(0xe3069283);
  });

  it('agrees with the bitwise reference on random data and random splits', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat(), { maxLength: 5 }), (bytes, cuts) => {
        const want = reference(bytes);
        expect(crc32c(bytes)).toBe(want);
        const points = [...new Set(cuts.map((x) => x % (bytes.length + 1)))].sort((a, b) => a - b);
        let crc = 0;
        let from = 0;
        for (const p of [...points, bytes.length]) {
          crc = crc32c(bytes, crc, from, p);
          from = p;
        }
        expect(crc).toBe(want);
        // An unaligned view into a larger buffer sums the same.
        const padded = new Uint8Array(bytes.length + 3);
        padded.set(bytes, 3);
        expect(crc32c(padded.subarray(3))).toBe(want);
      }),
      { numRuns: 500 },
    );
  });
});

describe('CBOR', () => {
  // RFC 8949 Appendix A, for the values this codec writes in their preferred (shortest) form.
  const encodings: Array<[unknown, string]> = [
    [0, '00'], [1, '01'], [10, '0a'], [23, '17'], [24, '1818'], [25, '1819'], [100, '1864'], [1000, '1903e8'],
    [1000000, '1a000f4240'], [1000000000000, '1b000000e8d4a51000'], [Number.MAX_SAFE_INTEGER, '1b001fffffffffffff'],
    [18446744073709551615n, '1bffffffffffffffff'], [-18446744073709551616n, '3bffffffffffffffff'],
    [-1, '20'], [-10, '29'], [-100, '3863'], [-1000, '3903e7'],
    [false, 'f4'], [true, 'f5'], [null, 'f6'], [undefined, 'f7'],
    ['', '60'], ['a', '6161'], ['IETF', '6449455446'], ['"\\', '62225c'], ['\u00fc', '62c3bc'], ['\u6c34', '63e6b0b4'], ['\u{10151}', '64f0908591'],
    [Buffer.alloc(0), '40'], [Buffer.from([1, 2, 3, 4]), '4401020304'], [new Uint8Array([1, 2, 3, 4]), '4401020304'],
    [[], '80'], [[1, 2, 3], '83010203'], [[1, [2, 3], [4, 5]], '8301820203820405'],
    [Array.from({ length: 25 }, (_, i) => i + 1), '98190102030405060708090a0b0c0d0e0f101112131415161718181819'],
    [{}, 'a0'], [{ a: 1, b: [2, 3] }, 'a26161016162820203'], [['a', { b: 'c' }], '826161a161626163'],
    [{ a: 'A', b: 'B', c: 'C', d: 'D', e: 'E' }, 'a56161614161626142616361436164614461656145'],
    // Floats always go out as binary64 (valid CBOR, if not the shortest).
    [1.1, 'fb3ff199999999999a'], [1.5, 'fb3ff8000000000000'], [-4.1, 'fbc010666666666666'], [1.0e300, 'fb7e37e43c8800759c'],
    [-0, 'fb8000000000000000'], [Infinity, 'fb7ff0000000000000'], [-Infinity, 'fbfff0000000000000'],
    // AWS's dialect: a Date is tag 1 over epoch milliseconds.
    [new Date(1363896240500), 'c11b0000013d8e8d0974'],
  ];

  it('encodes known values byte for byte', () => {
    for (const [value, want] of encodings) expect(cborEncode(value).toString('hex'), String(value)).toBe(want);
    // Members whose value is undefined are left out, as JSON does.
    expect(cborEncode({ a: 1, b: undefined }).toString('hex')).toBe('a16161' + '01');
    expect(() => cborEncode(Symbol('x'))).toThrow(CborError);
    expect(() => cborEncode(() => 1)).toThrow(CborError);
  });

  // RFC 8949 Appendix A decodings, including forms this codec never writes.
  const decodings: Array<[string, unknown]> = [
    ...encodings.filter(([v]) => typeof v !== 'bigint' && !(v instanceof Uint8Array) && !(v instanceof Date)).map(([v, h]) => [h, v] as [string, unknown]),
    ['4401020304', Buffer.from([1, 2, 3, 4])],
    ['3bffffffffffffffff', -18446744073709551616n], ['1bffffffffffffffff', 18446744073709551615n],
    ['f90000', 0], ['f98000', -0], ['f93c00', 1], ['f93e00', 1.5], ['f97bff', 65504], ['fa47c35000', 100000],
    ['fa7f7fffff', 3.4028234663852886e38], ['f90001', 5.960464477539063e-8], ['f90400', 0.00006103515625], ['f9c400', -4],
    ['f97c00', Infinity], ['f9fc00', -Infinity], ['fa7f800000', Infinity], ['fbfff0000000000000', -Infinity],
    ['5f42010243030405ff', Buffer.from([1, 2, 3, 4, 5])], ['7f657374726561646d696e67ff', 'streaming'],
    ['9fff', []], ['9f018202039f0405ffff', [1, [2, 3], [4, 5]]], ['9f01820203820405ff', [1, [2, 3], [4, 5]]],
    ['83018202039f0405ff', [1, [2, 3], [4, 5]]], ['bf61610161629f0203ffff', { a: 1, b: [2, 3] }],
    ['826161bf61626163ff', ['a', { b: 'c' }]], ['bf6346756ef563416d7421ff', { Fun: true, Amt: -2 }],
    // Tag 1: RFC seconds (integer or float) and the Java SDK's milliseconds all read as the same kind of Date.
    ['c11a514b67b0', new Date(1363896240000)], ['c1fb41d452d9ec200000', new Date(1363896240500)], ['c11b0000013d8e8d0974', new Date(1363896240500)],
    // Other tags are transparent.
    ['d74401020304', Buffer.from([1, 2, 3, 4])], ['d818456449455446', Buffer.from('dIETF')],
  ];

  it('decodes RFC 8949 examples, including half floats and indefinite lengths', () => {
    for (const [h, want] of decodings) {
      const got = cborDecode(hex(h));
      if (typeof want === 'number' && Number.isNaN(want)) expect(got).toBeNaN();
      else expect(got, h).toEqual(want);
      if (Object.is(want, -0)) expect(Object.is(got, -0)).toBe(true);
    }
    expect(cborDecode(hex('f97e00'))).toBeNaN();
    expect(cborDecode(hex('fb7ff8000000000000'))).toBeNaN();
  });

  it('throws CborError for every strict prefix of a valid item, and for trailing bytes', () => {
    for (const [h] of decodings) {
      const bytes = hex(h);
      for (let n = 0; n < bytes.length; n++) expect(() => cborDecode(bytes.subarray(0, n)), `${h}[0,${n})`).toThrow(CborError);
      expect(() => cborDecode(Buffer.concat([bytes, Buffer.from([0])]))).toThrow(/trailing bytes/);
    }
  });

  it('refuses hostile input with CborError and bounded work', () => {
    expect(() => cborDecode(Buffer.alloc(65, 0x81))).toThrow(CborError); // 65 nested arrays
    expect(() => cborDecode(Buffer.concat([Buffer.alloc(64, 0x81), Buffer.from([0])]))).not.toThrow();
    expect(() => cborDecode(hex('5bffffffffffffffff'))).toThrow(/length exceeds input/); // a 2^64-byte string
    expect(() => cborDecode(hex('9b00000000ffffffff00'))).toThrow(/length exceeds input/);
    expect(() => cborDecode(hex('a1' + '80' + '01'))).toThrow(/map key/); // an array as a map key
    expect(() => cborDecode(hex('1c'))).toThrow(CborError); // reserved additional info
    expect(() => cborDecode(hex('ff'))).toThrow(/break/);
    expect(() => cborDecode(hex('5f' + '01' + 'ff'))).toThrow(/chunk/); // an integer inside an indefinite string
    expect(() => cborDecode(hex('5f' + '5f' + 'ff' + 'ff'))).toThrow(/nested/);
    expect(() => cborDecode(hex('c1' + '6161'))).toThrow(/tag 1/);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          cborDecode(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(CborError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  // Values both codecs represent alike: no undefined (left out of maps), no bigints (the oracle writes bignum tags).
  const key = fc.string({ unit: 'grapheme', maxLength: 8 }).filter((k) => k !== '__proto__');
  const leaf = fc.oneof(
    fc.maxSafeInteger(),
    fc.integer({ min: -1000, max: 1000 }),
    fc.double({ noNaN: true }),
    fc.string({ unit: 'grapheme', maxLength: 20 }),
    fc.uint8Array({ maxLength: 40 }).map((u) => Buffer.from(u)),
    fc.boolean(),
    fc.constant(null),
  );
  const { value } = fc.letrec((tie) => ({
    value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, tie('array'), tie('map')),
    array: fc.array(tie('value'), { maxLength: 5 }),
    // Plain objects: the oracle cannot encode null-prototype ones.
    map: fc.dictionary(key, tie('value'), { maxKeys: 5 }).map((d) => ({ ...d })),
  }));
  const noFloats = (v: unknown): boolean =>
    typeof v === 'number' ? Number.isInteger(v) && !Object.is(v, -0) : Array.isArray(v) ? v.every(noFloats) : v && typeof v === 'object' && !Buffer.isBuffer(v) ? Object.values(v).every(noFloats) : true;

  it('reads what the oracle writes, and the oracle reads what it writes', () => {
    fc.assert(
      fc.property(value, (v) => {
        expect(cborDecode(oracle.encode(v))).toEqual(v);
        const ours = cborEncode(v);
        expect(oracle.decodeFirstSync(ours)).toEqual(v);
        expect(cborDecode(ours)).toEqual(v);
        // With no fractional numbers both codecs choose the same preferred encoding, byte for byte.
        if (noFloats(v)) expect(ours.toString('hex')).toBe(oracle.encode(v).toString('hex'));
      }),
      { numRuns: 1000 },
    );
  });

  it('round-trips Dates as tag 1 milliseconds, readable by the oracle', () => {
    // Tag 1 may hold seconds (RFC 8949) or milliseconds (the Java SDK); the decoder reads values above 1e11 as
    // milliseconds, so instants from March 1973 on round-trip, and earlier ones are read as seconds by design.
    expect(cborDecode(cborEncode(new Date(1e11 + 1)))).toEqual(new Date(1e11 + 1));
    expect(cborDecode(cborEncode(new Date(1e11)))).toEqual(new Date(1e14));
    // Regression: float seconds were scaled and then truncated by Date, losing a millisecond.
    expect(cborDecode(oracle.encode(new Date(273139546455)))).toEqual(new Date(273139546455));
    fc.assert(
      fc.property(fc.integer({ min: 1e11 + 1, max: 4102444800000 }), (ms) => {
        const d = new Date(ms);
        expect(cborDecode(cborEncode(d))).toEqual(d);
        expect(cborEncode(d).equals(oracle.encode(new oracle.Tagged(1, ms)))).toBe(true);
        expect(oracle.decodeFirstSync(cborEncode({ T: d }), { tags: { 1: (x) => x } })).toEqual({ T: ms });
        // The oracle's RFC-style seconds read back as the same instant.
        expect(cborDecode(oracle.encode(d))).toEqual(d);
      }),
      { numRuns: 500 },
    );
  });

  it('copies byte strings out of the input and handles large members', () => {
    const input = cborEncode({ a: Buffer.from([1, 2, 3]) });
    const out = cborDecode(input) as { a: Buffer };
    input.fill(0);
    expect(out.a).toEqual(Buffer.from([1, 2, 3]));
    const big = { a: 'x'.repeat(5000), b: Buffer.alloc(3000, 1), c: [Buffer.alloc(2000, 2), 'y'.repeat(70000)] };
    expect(cborEncode(big).equals(oracle.encode(big))).toBe(true);
    expect(cborDecode(cborEncode(big))).toEqual(big);
  });
});

describe('sequence numbers', () => {
  const parts = fc.record({
    shardCreatedMs: fc.integer({ min: 0, max: 2 ** 36 - 1 }).map((s) => s * 1000),
    shardIndex: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    counter: fc.bigInt({ min: 0n, max: sequenceCounterMax }),
    recordMs: fc.integer({ min: 0, max: 2 ** 36 - 1 }).map((s) => s * 1000),
  });

  it('reads and writes AWS-documented sequence numbers unchanged', () => {
    // From the AWS API Reference (PutRecord example) and kinesalite's captures of real AWS.
    for (const aws of ['49590338271490256608559692538361571095921575989136588898', '49546986683135544286507457936321625675700192471156785154']) {
      const p = parseSequenceNumber(aws);
      expect(p).toBeDefined();
      expect(formatSequenceNumber(p!)).toBe(aws);
    }
    expect(parseSequenceNumber('49546986683135544286507457936321625675700192471156785154')).toEqual({
      shardCreatedMs: 1421279230000, shardIndex: 0, counter: 469n, recordMs: 1421279386000,
    });
  });

  it('round-trips any parts as a 56-digit decimal', () => {
    fc.assert(
      fc.property(parts, (p) => {
        const s = formatSequenceNumber(p);
        expect(s).toMatch(/^[1-9]\d{55}$/);
        expect(parseSequenceNumber(s)).toEqual(p);
      }),
      { numRuns: 1000 },
    );
  });

  it('drops sub-second precision of the timestamps it carries', () => {
    const p: SequenceParts = { shardCreatedMs: 1_700_000_000_999, shardIndex: 3, counter: 7n, recordMs: 1_700_000_123_456 };
    expect(parseSequenceNumber(formatSequenceNumber(p))).toEqual({ ...p, shardCreatedMs: 1_700_000_000_000, recordMs: 1_700_000_123_000 });
  });

  it('increases strictly with the counter within a shard, even when the clock goes back', () => {
    fc.assert(
      fc.property(parts, fc.bigInt({ min: 1n, max: 1n << 40n }), fc.integer({ min: 0, max: 2 ** 36 - 1 }), (p, step, otherSeconds) => {
        fc.pre(p.counter + step <= sequenceCounterMax);
        const a = BigInt(formatSequenceNumber(p));
        const b = BigInt(formatSequenceNumber({ ...p, counter: p.counter + step, recordMs: otherSeconds * 1000 }));
        expect(b > a).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('rejects anything that is not one of its own', () => {
    const good = formatSequenceNumber({ shardCreatedMs: 1_700_000_000_000, shardIndex: 1, counter: 5n, recordMs: 1_700_000_001_000 });
    const h = BigInt(good).toString(16);
    const asDecimal = (hx: string) => BigInt('0x' + hx).toString(10);
    for (const junk of [
      '', 'abc', '-1', '0', '00', '1'.repeat(56), '9'.repeat(129), '9'.repeat(130), ' ' + good, good + ' ', '0' + good, good + '0', '1e55', '4.9e55',
      asDecimal('1' + h.slice(1)), // another layout version
      asDecimal('3' + h.slice(1)),
      asDecimal(h.slice(0, -1) + '1'), // wrong trailing nibble
      asDecimal(h.slice(0, 11) + '8000000000000000' + h.slice(27)), // counter with its top bit set
      asDecimal(h.slice(1)), // one nibble short
    ]) {
      expect(parseSequenceNumber(junk), junk).toBeUndefined();
    }
    expect(parseSequenceNumber(good)).toBeDefined();
  });

  it('names shards as AWS does', () => {
    expect(shardIdOf(0)).toBe('shardId-000000000000');
    expect(shardIdOf(123)).toBe('shardId-000000000123');
    for (const [id, want] of [
      ['shardId-000000000001', 1], ['shardId-1', 1], ['1', 1], ['shardId-000000000000', 0], ['anything-7', 7],
      ['shardId-', undefined], ['shardId-abc', undefined], ['shardId-1x', undefined], ['shardId-0000000000001', 1],
      ['shardId-2147483647', 2147483647], ['shardId-2147483648', undefined], ['', undefined],
      // kinesalite's captures of AWS: the part after the first '-', any number of digits.
      ['a-00002147483647', 2147483647], ['-00002147483647', 2147483647], ['2147483647', 2147483647], ['2.14E4', undefined], ['ABKLFD8', undefined],
    ] as Array<[string, number | undefined]>) {
      expect(shardIndexOf(id), id).toBe(want);
    }
  });
});

describe('hash keys', () => {
  const md5 = (s: string) => BigInt('0x' + createHash('md5').update(s, 'utf8').digest('hex'));

  it('maps partition keys through MD5 as a big-endian 128-bit integer', () => {
    // MD5 test vectors (RFC 1321).
    expect(hashKeyToBigInt(hashKeyOfPartitionKey(''))).toBe(0xd41d8cd98f00b204e9800998ecf8427en);
    expect(hashKeyToBigInt(hashKeyOfPartitionKey('a'))).toBe(0x0cc175b9c0f1b6a831c399e269772661n);
    expect(hashKeyToBigInt(hashKeyOfPartitionKey('abc'))).toBe(0x900150983cd24fb0d6963f7d28e17f72n);
    fc.assert(fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 256 }), (pk) => {
      expect(hashKeyToBigInt(hashKeyOfPartitionKey(pk))).toBe(md5(pk));
    }));
  });

  it('converts decimal hash keys within [0, 2^128-1] only', () => {
    expect(hashKeyFromDecimal('0')).toEqual(Buffer.alloc(16));
    expect(hashKeyFromDecimal(hashKeyMax.toString())).toEqual(Buffer.alloc(16, 0xff));
    for (const bad of [(hashKeyMax + 1n).toString(), '9'.repeat(39), '9'.repeat(40), '-1', '01', '1.0', '', ' 1', '0x10', '1e3']) {
      expect(hashKeyFromDecimal(bad), bad).toBeUndefined();
    }
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: hashKeyMax }), (n) => {
      const b = hashKeyFromDecimal(n.toString())!;
      expect(b).toEqual(hashKeyFromBigInt(n));
      expect(hashKeyToBigInt(b)).toBe(n);
    }));
    // Byte order: comparing buffers orders keys numerically.
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: hashKeyMax }), fc.bigInt({ min: 0n, max: hashKeyMax }), (a, b) => {
      expect(Math.sign(Buffer.compare(hashKeyFromBigInt(a), hashKeyFromBigInt(b)))).toBe(a < b ? -1 : a > b ? 1 : 0);
    }));
  });

  it('splits the key space evenly for 1..7 shards, covering [0, 2^128-1] without gaps', () => {
    for (let n = 1; n <= 7; n++) {
      const ranges = evenHashKeyRanges(n);
      expect(ranges).toHaveLength(n);
      expect(ranges[0]!.start).toBe(0n);
      expect(ranges.at(-1)!.end).toBe(hashKeyMax);
      const width = (hashKeyMax + 1n) / BigInt(n);
      ranges.forEach((r, i) => {
        if (i > 0) expect(r.start).toBe(ranges[i - 1]!.end + 1n);
        expect(r.start).toBe(BigInt(i) * width);
        const w = r.end - r.start + 1n;
        expect(w - width).toBeGreaterThanOrEqual(0n);
        expect(w - width).toBeLessThan(BigInt(n));
      });
    }
    // The boundaries AWS gives 2- and 3-shard streams.
    expect(evenHashKeyRanges(2).map((r) => [r.start.toString(), r.end.toString()])).toEqual([
      ['0', '170141183460469231731687303715884105727'],
      ['170141183460469231731687303715884105728', '340282366920938463463374607431768211455'],
    ]);
    expect(evenHashKeyRanges(3).map((r) => r.end.toString())).toEqual([
      '113427455640312821154458202477256070484', '226854911280625642308916404954512140969', '340282366920938463463374607431768211455',
    ]);
  });
});

describe('request validation (gateway/http/validate.ts)', () => {
  const shapeOf = (action: string) => streamsActions[action]!.shape;

  function failure(shape: StructureShape, input: unknown): { type: string; message: string } {
    try {
      validateInput(shape, input);
    } catch (err) {
      expect(err).toBeInstanceOf(AwsError);
      return { type: (err as AwsError).type, message: (err as AwsError).message };
    }
    throw new Error(`no error for ${JSON.stringify(input)}`);
  }

  const ser = 'SerializationException';
  const val = 'ValidationException';
  const v1 = (s: string) => `1 validation error detected: ${s}`;

  // [action, input, type, message]: one row per wrong type or out-of-range value, as kinesalite's assertType matrix.
  const table: Array<[string, Record<string, unknown>, string, string]> = [
    // Integer members.
    ['CreateStream', { StreamName: 'a', ShardCount: true }, ser, 'class java.lang.Boolean can not be converted to an Integer'],
    ['CreateStream', { StreamName: 'a', ShardCount: '1' }, ser, 'class java.lang.String can not be converted to an Integer'],
    ['CreateStream', { StreamName: 'a', ShardCount: [] }, ser, 'Start of list found where not expected'],
    ['CreateStream', { StreamName: 'a', ShardCount: {} }, ser, 'Start of structure or map found where not expected.'],
    ['CreateStream', { StreamName: 'a', ShardCount: new Uint8Array(1) }, ser, 'class [B can not be converted to an Integer'],
    ['CreateStream', { StreamName: 'a', ShardCount: 0 }, val, v1("Value '0' at 'shardCount' failed to satisfy constraint: Member must have value greater than or equal to 1")],
    ['CreateStream', { StreamName: 'a', ShardCount: 0.9 }, val, v1("Value '0' at 'shardCount' failed to satisfy constraint: Member must have value greater than or equal to 1")],
    ['CreateStream', { StreamName: 'a', ShardCount: 1e12 }, val, v1("Value '2147483647' at 'shardCount' failed to satisfy constraint: Member must have value less than or equal to 1000000")],
    ['CreateStream', { StreamName: 'a', ShardCount: 1, MaxRecordSizeInKiB: 1023 }, val, v1("Value '1023' at 'maxRecordSizeInKiB' failed to satisfy constraint: Member must have value greater than or equal to 1024")],
    ['GetRecords', { ShardIterator: 'x', Limit: 10001 }, val, v1("Value '10001' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 10000")],
    ['ListTagsForStream', { StreamName: 'a', Limit: 0 }, val, v1("Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1")],
    // String members.
    ['CreateStream', { StreamName: true, ShardCount: 1 }, ser, 'class java.lang.Boolean can not be converted to an String'],
    ['CreateStream', { StreamName: 1, ShardCount: 1 }, ser, 'class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an String'],
    ['CreateStream', { StreamName: ['a'], ShardCount: 1 }, ser, 'Start of list found where not expected'],
    ['CreateStream', { StreamName: { a: 1 }, ShardCount: 1 }, ser, 'Start of structure or map found where not expected.'],
    ['CreateStream', { ShardCount: 1 }, val, v1("Value null at 'streamName' failed to satisfy constraint: Member must not be null")],
    ['CreateStream', { StreamName: 'a b', ShardCount: 1 }, val, v1("Value 'a b' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")],
    ['DescribeStream', { StreamName: 'x'.repeat(129) }, val, v1(`Value '${'x'.repeat(129)}' at 'streamName' failed to satisfy constraint: Member must have length less than or equal to 128`)],
    ['PutRecord', { StreamName: 'a', PartitionKey: '', Data: 'AA==' }, val, v1("Value '' at 'partitionKey' failed to satisfy constraint: Member must have length greater than or equal to 1")],
    ['GetShardIterator', { StreamName: 'a', ShardId: 's', ShardIteratorType: 'NOPE' }, val, v1("Value 'NOPE' at 'shardIteratorType' failed to satisfy constraint: Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, LATEST, AT_TIMESTAMP, AT_SEQUENCE_NUMBER, TRIM_HORIZON]")],
    ['GetShardIterator', { StreamName: 'a', ShardId: 's', ShardIteratorType: 'LATEST', StartingSequenceNumber: '01' }, val, v1("Value '01' at 'startingSequenceNumber' failed to satisfy constraint: Member must satisfy regular expression pattern: 0|([1-9]\\d{0,128})")],
    ['SplitShard', { StreamName: 'a', ShardToSplit: 's', NewStartingHashKey: '1'.repeat(40) }, val, v1(`Value '${'1'.repeat(40)}' at 'newStartingHashKey' failed to satisfy constraint: Member must satisfy regular expression pattern: 0|([1-9]\\d{0,38})`)],
    ['UpdateStreamMode', { StreamARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/a', StreamModeDetails: { StreamMode: 'BOTH' } }, val, v1("Value 'BOTH' at 'streamModeDetails.streamMode' failed to satisfy constraint: Member must satisfy enum value set: [PROVISIONED, ON_DEMAND]")],
    ['UpdateStreamMode', { StreamModeDetails: { StreamMode: 'ON_DEMAND' } }, val, v1("Value null at 'streamARN' failed to satisfy constraint: Member must not be null")],
    ['DescribeStreamSummary', { StreamId: 'abc' }, val, v1("Value 'abc' at 'streamId' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-z0-9]{20}-[a-z0-9]{3}")],
    // Boolean members.
    ['DeleteStream', { StreamName: 'a', EnforceConsumerDeletion: 'no' }, ser, "'NO' can not be converted to an Boolean"],
    ['DeleteStream', { StreamName: 'a', EnforceConsumerDeletion: 0 }, ser, 'class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an Boolean'],
    ['DeleteStream', { StreamName: 'a', EnforceConsumerDeletion: [] }, ser, 'Start of list found where not expected'],
    ['DeleteStream', { StreamName: 'a', EnforceConsumerDeletion: {} }, ser, 'Start of structure or map found where not expected.'],
    // Blob members.
    ['PutRecord', { StreamName: 'a', PartitionKey: 'k', Data: false }, ser, 'class java.lang.Boolean can not be converted to a Blob'],
    ['PutRecord', { StreamName: 'a', PartitionKey: 'k', Data: 12 }, ser, 'class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to a Blob'],
    ['PutRecord', { StreamName: 'a', PartitionKey: 'k', Data: [] }, ser, 'Start of list found where not expected'],
    ['PutRecord', { StreamName: 'a', PartitionKey: 'k', Data: {} }, ser, 'Start of structure or map found where not expected.'],
    ['PutRecord', { StreamName: 'a', PartitionKey: 'k', Data: 'a' }, ser, "'a' can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 bytes but found: 1"],
    ['PutRecord', { StreamName: 'a', PartitionKey: 'k' }, val, v1("Value null at 'data' failed to satisfy constraint: Member must not be null")],
    ['PutRecord', { StreamName: 'a', PartitionKey: 'k', Data: Buffer.alloc(10 * 1024 * 1024 + 1) }, val, v1("Value 'java.nio.HeapByteBuffer[pos=0 lim=10485761 cap=10485761]' at 'data' failed to satisfy constraint: Member must have length less than or equal to 10485760")],
    // Timestamp members.
    ['GetShardIterator', { StreamName: 'a', ShardId: 's', ShardIteratorType: 'AT_TIMESTAMP', Timestamp: 'x' }, ser, 'class java.lang.String can not be converted to milliseconds since epoch'],
    ['GetShardIterator', { StreamName: 'a', ShardId: 's', ShardIteratorType: 'AT_TIMESTAMP', Timestamp: false }, ser, 'class java.lang.Boolean can not be converted to milliseconds since epoch'],
    ['GetShardIterator', { StreamName: 'a', ShardId: 's', ShardIteratorType: 'AT_TIMESTAMP', Timestamp: [] }, ser, 'Start of list found where not expected'],
    ['ListShards', { StreamName: 'a', ShardFilter: { Type: 'AT_TIMESTAMP', Timestamp: {} } }, ser, 'Start of structure or map found where not expected.'],
    // List members.
    ['PutRecords', { StreamName: 'a', Records: 1 }, ser, 'Expected list or null'],
    ['PutRecords', { StreamName: 'a', Records: 'x' }, ser, 'Expected list or null'],
    ['PutRecords', { StreamName: 'a', Records: true }, ser, 'Expected list or null'],
    ['PutRecords', { StreamName: 'a', Records: {} }, ser, 'Start of structure or map found where not expected.'],
    ['PutRecords', { StreamName: 'a', Records: ['x'] }, ser, 'Expected null'],
    ['PutRecords', { StreamName: 'a', Records: [[]] }, ser, 'Start of list found where not expected'],
    ['PutRecords', { StreamName: 'a', Records: [{ PartitionKey: 1, Data: 'AA==' }] }, ser, 'class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an String'],
    ['PutRecords', { StreamName: 'a' }, val, v1("Value null at 'records' failed to satisfy constraint: Member must not be null")],
    ['PutRecords', { StreamName: 'a', Records: [] }, val, v1("Value '[]' at 'records' failed to satisfy constraint: Member must have length greater than or equal to 1")],
    ['PutRecords', { StreamName: 'a', Records: [{ PartitionKey: 'k', Data: 'AA==', ExplicitHashKey: 'x' }] }, val, v1("Value 'x' at 'records.1.member.explicitHashKey' failed to satisfy constraint: Member must satisfy regular expression pattern: 0|([1-9]\\d{0,38})")],
    ['PutRecords', { StreamName: 'a', Records: [null] }, val, v1("Value null at 'records.1.member' failed to satisfy constraint: Member must not be null")],
    ['RemoveTagsFromStream', { StreamName: 'a', TagKeys: [''] }, val, v1("Value '' at 'tagKeys.1.member' failed to satisfy constraint: Member must have length greater than or equal to 1")],
    ['RemoveTagsFromStream', { StreamName: 'a', TagKeys: Array.from({ length: 51 }, (_, i) => `k${i}`) }, val, v1(`Value '[${Array.from({ length: 51 }, (_, i) => `k${i}`).join(', ')}]' at 'tagKeys' failed to satisfy constraint: Member must have length less than or equal to 50`)],
    ['EnableEnhancedMonitoring', { StreamName: 'a', ShardLevelMetrics: ['Nope'] }, val, v1("Value 'Nope' at 'shardLevelMetrics.1.member' failed to satisfy constraint: Member must satisfy enum value set: [IncomingBytes, IncomingRecords, OutgoingBytes, OutgoingRecords, WriteProvisionedThroughputExceeded, ReadProvisionedThroughputExceeded, IteratorAgeMilliseconds, ALL]")],
    // Map members.
    ['AddTagsToStream', { StreamName: 'a', Tags: 1 }, ser, 'Expected map or null'],
    ['AddTagsToStream', { StreamName: 'a', Tags: [] }, ser, 'Start of list found where not expected'],
    ['AddTagsToStream', { StreamName: 'a', Tags: { k: 1 } }, ser, 'class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an String'],
    ['AddTagsToStream', { StreamName: 'a', Tags: {} }, val, v1("Value '{}' at 'tags' failed to satisfy constraint: Member must have length greater than or equal to 1")],
    ['AddTagsToStream', { StreamName: 'a', Tags: { '': 'v' } }, val, v1("Value '{=v}' at 'tags' failed to satisfy constraint: Map keys must satisfy constraint: [Member must have length less than or equal to 128, Member must have length greater than or equal to 1]")],
    ['AddTagsToStream', { StreamName: 'a', Tags: { k: 'v'.repeat(257) } }, val, v1(`Value '{k=${'v'.repeat(257)}}' at 'tags' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to 256, Member must have length greater than or equal to 0]`)],
    // Structure members.
    ['CreateStream', { StreamName: 'a', StreamModeDetails: 'ON_DEMAND' }, ser, 'Expected null'],
    ['CreateStream', { StreamName: 'a', StreamModeDetails: 5 }, ser, 'Expected null'],
    ['CreateStream', { StreamName: 'a', StreamModeDetails: [] }, ser, 'Start of list found where not expected'],
    ['CreateStream', { StreamName: 'a', StreamModeDetails: {} }, val, v1("Value null at 'streamModeDetails.streamMode' failed to satisfy constraint: Member must not be null")],
    ['ListShards', { StreamName: 'a', ShardFilter: { Type: 'AFTER_SHARD_ID', ShardId: '' } }, val, "2 validation errors detected: Value '' at 'shardFilter.shardId' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; Value '' at 'shardFilter.shardId' failed to satisfy constraint: Member must have length greater than or equal to 1"],
  ];

  it('matches the exact message for every wrong type and out-of-range value', () => {
    for (const [action, input, type, message] of table) {
      const got = failure(shapeOf(action), input);
      expect(got, `${action} ${JSON.stringify(input).slice(0, 200)}`).toEqual({ type, message });
    }
    // Lengths count characters (code points), not UTF-16 units or bytes.
    expect(() => validateInput(shapeOf('PutRecord'), { StreamName: 'a', PartitionKey: '\u{1F600}'.repeat(256), Data: 'AA==' })).not.toThrow();
    expect(failure(shapeOf('PutRecord'), { StreamName: 'a', PartitionKey: '\u{1F600}'.repeat(257), Data: 'AA==' }).message).toMatch(/at 'partitionKey' failed to satisfy constraint: Member must have length less than or equal to 256$/);
  });

  it('gathers constraint errors in member order and caps them at ten', () => {
    expect(failure(shapeOf('CreateStream'), { StreamName: 'bad name', ShardCount: 0 })).toEqual({
      type: val,
      message: "2 validation errors detected: Value '0' at 'shardCount' failed to satisfy constraint: Member must have value greater than or equal to 1; Value 'bad name' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
    });
    const records = Array.from({ length: 12 }, () => ({}));
    const many = failure(shapeOf('PutRecords'), { StreamName: 'a', Records: records });
    expect(many.message.startsWith('10 validation errors detected: ')).toBe(true);
    expect(many.message.split('; ')).toHaveLength(10);
    expect(many.message.split('; ')[9]).toBe("Value null at 'records.5.member.data' failed to satisfy constraint: Member must not be null");
    // A type error anywhere wins over constraint errors elsewhere (stage 1 before stage 2).
    expect(failure(shapeOf('CreateStream'), { StreamName: 'bad name', ShardCount: '0' }).type).toBe(ser);
  });

  it('normalises the input it accepts', () => {
    const out = validateInput(shapeOf('PutRecords'), {
      StreamName: 'a',
      Unknown: 'dropped',
      StreamARN: null,
      Records: [{ PartitionKey: 'k', Data: 'aGk=', Extra: 1 }, { PartitionKey: 'k', Data: new Uint8Array([1, 2]) }],
    });
    expect(out).toEqual({ StreamName: 'a', Records: [{ PartitionKey: 'k', Data: Buffer.from('hi') }, { PartitionKey: 'k', Data: Buffer.from([1, 2]) }] });
    expect(Buffer.isBuffer((out.Records as Array<{ Data: unknown }>)[1]!.Data)).toBe(true);
    expect(validateInput(shapeOf('CreateStream'), { StreamName: 'a', ShardCount: 2.9 })).toEqual({ StreamName: 'a', ShardCount: 2 });
    expect(validateInput(shapeOf('GetShardIterator'), { StreamName: 'a', ShardId: 's', ShardIteratorType: 'AT_TIMESTAMP', Timestamp: 1700000000.123 }).Timestamp).toBe(1700000000123);
    expect(validateInput(shapeOf('GetShardIterator'), { StreamName: 'a', ShardId: 's', ShardIteratorType: 'AT_TIMESTAMP', Timestamp: new Date(5) }).Timestamp).toBe(5);
    // CBOR byte strings are accepted where a string is expected.
    expect(validateInput(shapeOf('DescribeStream'), { StreamName: Buffer.from('abc') })).toEqual({ StreamName: 'abc' });
    expect(validateInput(shapeOf('DescribeLimits'), {})).toEqual({});
    const long: StructureShape = { type: 'structure', members: { N: { type: 'long' } } };
    expect(validateInput(long, { N: 2 ** 40 + 0.5 })).toEqual({ N: 2 ** 40 });
    expect(failure(long, { N: 'x' })).toEqual({ type: ser, message: 'class java.lang.String can not be converted to an Long' });
  });

  it('decodes base64 blobs strictly', () => {
    expect(decodeBase64Blob('')).toEqual(Buffer.alloc(0));
    expect(decodeBase64Blob('aGk=')).toEqual(Buffer.from('hi'));
    expect(decodeBase64Blob('aGVsbG8gd29ybGQ=')).toEqual(Buffer.from('hello world'));
    const bad: Array<[string, string]> = [
      ['aGk', 'Base64 encoded length is expected a multiple of 4 bytes but found: 3'],
      ['aG k', "Invalid Base64 character: ' '"],
      ['aG_k', "Invalid Base64 character: '_'"],
      ['a=Gk', "Invalid Base64 character: '='"],
      ['aGl=', 'Invalid last non-pad Base64 character dectected'],
      ['aR==', 'Invalid last non-pad Base64 character dectected'],
    ];
    for (const [s, why] of bad) {
      expect(() => decodeBase64Blob(s)).toThrow(`'${s}' can not be converted to a Blob: ${why}`);
    }
    fc.assert(fc.property(fc.uint8Array({ maxLength: 100 }), (u) => {
      expect(decodeBase64Blob(Buffer.from(u).toString('base64'))).toEqual(Buffer.from(u));
    }));
  });
});
