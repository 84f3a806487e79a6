// The PutRecords scanner (gateway/http/offload-scan.ts) against the general
// path it short-cuts (JSON.parse, SigV4, validateInput): for every body, valid
// or broken in any of the ways a client or an attacker can break one, the
// offload's preparation must give exactly what the general path gives — the
// same decoded bytes, keys and hash keys, or the same error type and message.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { preparePutRecords, type OffloadJob, type OffloadResult } from '../../gateway/http/offload.ts';
import { prepareOffloaded } from '../../gateway/http/offload-kinds.ts';
import { putRecordBatch } from '../../gateway/firehose/actions/put-record-batch.ts';
import { scanBody } from '../../gateway/http/offload-scan.ts';
import { putRecords } from '../../gateway/streams/actions/put-records.ts';
import { signRequest } from '../../sdk/protocol/sigv4.ts';

const operator = { accessKeyId: 'AKIDEXAMPLE0TEST', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const now = Date.UTC(2026, 10, 25, 12, 0, 0);

function job(body: Buffer, secret = operator.secretAccessKey): OffloadJob {
  const url = new URL('http://127.0.0.1:4567/');
  const signed = signRequest({
    method: 'POST', url, headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'Kinesis_20131202.PutRecords' }, body,
    accessKeyId: operator.accessKeyId, secretAccessKey: secret, region: 'us-east-1', service: 'kinesis', now,
  });
  const headers: Record<string, string> = { host: url.host, 'content-length': String(body.length) };
  for (const [k, v] of Object.entries(signed)) headers[k.toLowerCase()] = v;
  return {
    method: 'POST', url: '/', headers, body: new Uint8Array(body), accessKeyId: operator.accessKeyId, secret: operator.secretAccessKey,
    service: 'kinesis', region: 'us-east-1', now, kind: 'kinesis.PutRecords',
  };
}

/** Typed arrays as plain arrays, so that a Buffer and a Uint8Array of the same bytes compare equal. */
function plain(r: OffloadResult): unknown {
  if (!r.ok) return r;
  return Object.fromEntries(Object.entries(r.value).map(([k, v]) => [k, ArrayBuffer.isView(v) ? Array.from(v as Uint8Array) : v]));
}

function both(body: Buffer | string, secret?: string): { fast: OffloadResult; general: OffloadResult; scanned: boolean } {
  const b = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const fast = preparePutRecords(job(b, secret), putRecords.shape);
  const general = preparePutRecords(job(b, secret), putRecords.shape, { scan: false });
  const scanned = scanBody(b, { topStrings: ['StreamName', 'StreamARN', 'StreamId'], list: 'Records', recordStrings: ['Data', 'PartitionKey', 'ExplicitHashKey'], recordsMax: 500 }, 0) !== undefined;
  return { fast, general, scanned };
}

function expectSame(body: Buffer | string, secret?: string): { fast: OffloadResult; scanned: boolean } {
  const { fast, general, scanned } = both(body, secret);
  expect(plain(fast), String(body).slice(0, 200)).toEqual(plain(general));
  return { fast, scanned };
}

const records = (n: number, size = 32) =>
  Array.from({ length: n }, (_, i) => ({ Data: randomBytes(size + (i % 3)).toString('base64'), PartitionKey: `key-${i}-${randomBytes(4).toString('hex')}` }));

describe('PutRecords scanner', () => {
  it('takes the bodies SDKs send, and gives what the general path gives', () => {
    for (const body of [
      JSON.stringify({ StreamName: 's', Records: records(500, 1024) }),
      JSON.stringify({ Records: records(3), StreamName: 's' }),
      JSON.stringify({ StreamARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/s', Records: records(2) }),
      JSON.stringify({ StreamName: 's', Records: [{ PartitionKey: 'k', Data: '' }, { Data: 'AA==', PartitionKey: 'k', ExplicitHashKey: '0' }] }),
      JSON.stringify({ StreamName: 's', Records: [{ PartitionKey: 'k', ExplicitHashKey: '340282366920938463463374607431768211455', Data: 'AQI=' }] }),
      JSON.stringify({ StreamName: 's', Records: [{ PartitionKey: 'k'.repeat(256), Data: 'AAAA' }] }),
      JSON.stringify({ StreamName: 's', Records: records(4) }, null, 2),
      ` \r\n\t{ "StreamName" : "s" ,\n "Records" : [ { "Data" : "AAAA" , "PartitionKey" : "a b" } ] } \n`,
    ]) {
      const { fast, scanned } = expectSame(body);
      expect(scanned).toBe(true);
      expect(fast.ok).toBe(true);
    }
  });

  it('leaves every other body to the general path, which answers exactly', () => {
    const ok = { PartitionKey: 'k', Data: 'AAAA' };
    const cases: Array<string | Buffer> = [
      '', ' ', '{', '}', '[]', '[1,2]', 'null', '"s"', '{}', '{"Records":[]}', '{"StreamName":"s"}', '{"StreamName":"s","Records":[]}',
      JSON.stringify({ StreamName: 's', Records: [ok] }) + 'x',
      JSON.stringify({ StreamName: 's', Records: [ok] }) + '{}',
      JSON.stringify({ StreamName: 's', Records: [{}] }),
      JSON.stringify({ StreamName: 's', Records: [null] }),
      JSON.stringify({ StreamName: 's', Records: [ok, null] }),
      JSON.stringify({ StreamName: 's', Records: 'nope' }),
      JSON.stringify({ StreamName: 's', Records: {} }),
      JSON.stringify({ StreamName: 's', Records: [[ok]] }),
      JSON.stringify({ StreamName: 's', Records: Array.from({ length: 501 }, () => ok) }),
      JSON.stringify({ StreamName: 's', Records: [{ PartitionKey: '', Data: 'AAAA' }] }),
      JSON.stringify({ StreamName: 's', Records: [{ PartitionKey: 'k'.repeat(257), Data: 'AAAA' }] }),
      JSON.stringify({ StreamName: 's', Records: [{ PartitionKey: 'ключ', Data: 'AAAA' }] }),
      JSON.stringify({ StreamName: 's', Records: [{ PartitionKey: 'k\u0001', Data: 'AAAA' }] }),
      JSON.stringify({ StreamName: 's', Records: [{ PartitionKey: 'k"q', Data: 'AAAA' }] }),
      JSON.stringify({ StreamName: 's', Records: [{ PartitionKey: 'k\\', Data: 'AAAA' }] }),
      JSON.stringify({ StreamName: 's', Records: [{ PartitionKey: 'k', Data: 'AAAA', Extra: 1 }] }),
      JSON.stringify({ StreamName: 's', Records: [{ PartitionKey: 'k', Data: 'AAAA', ExplicitHashKey: 'x' }] }),
      JSON.stringify({ StreamName: 's', Records: [{ PartitionKey: 'k', Data: 'AAAA', ExplicitHashKey: '01' }] }),
      JSON.stringify({ StreamName: 's', Records: [{ PartitionKey: 'k', Data: 'AAAA', ExplicitHashKey: '340282366920938463463374607431768211456' }] }),
      JSON.stringify({ StreamName: 's', Records: [{ PartitionKey: 'k', Data: 'AAAA', ExplicitHashKey: null }] }),
      JSON.stringify({ StreamName: 's', Records: [{ PartitionKey: 'k', Data: null }] }),
      JSON.stringify({ StreamName: 's', Records: [{ PartitionKey: 'k', Data: 12 }] }),
      JSON.stringify({ StreamName: 's', Records: [{ PartitionKey: 'k', Data: true }] }),
      JSON.stringify({ StreamName: 's', Records: [{ PartitionKey: 'k', Data: [] }] }),
      JSON.stringify({ StreamName: 's', Records: [{ PartitionKey: 1, Data: 'AAAA' }] }),
      JSON.stringify({ StreamName: 's', Records: [{ PartitionKey: 'k' }] }),
      JSON.stringify({ StreamName: 's', Records: [{ Data: 'AAAA' }] }),
      JSON.stringify({ StreamName: 's', Records: [{ PartitionKey: 'k', Data: 'AAA' }] }),
      JSON.stringify({ StreamName: 's', Records: [{ PartitionKey: 'k', Data: 'AA=A' }] }),
      JSON.stringify({ StreamName: 's', Records: [{ PartitionKey: 'k', Data: '=AAA' }] }),
      JSON.stringify({ StreamName: 's', Records: [{ PartitionKey: 'k', Data: 'A===' }] }),
      JSON.stringify({ StreamName: 's', Records: [{ PartitionKey: 'k', Data: '====' }] }),
      JSON.stringify({ StreamName: 's', Records: [{ PartitionKey: 'k', Data: 'AB==' }] }),
      JSON.stringify({ StreamName: 's', Records: [{ PartitionKey: 'k', Data: 'ABC=' }] }),
      JSON.stringify({ StreamName: 's', Records: [{ PartitionKey: 'k', Data: 'A-_A' }] }),
      JSON.stringify({ StreamName: 's', Records: [{ PartitionKey: 'k', Data: 'AA AA AA' }] }),
      JSON.stringify({ StreamName: 's', Records: [{ PartitionKey: 'k', Data: 'AAAA\n' }] }),
      JSON.stringify({ StreamName: 's', Records: [{ PartitionKey: 'k', Data: 'AA\u00e9A' }] }),
      JSON.stringify({ StreamName: 's', Records: [{ PartitionKey: 'k', Data: 'AA"A' }] }),
      '{"StreamName":"s","Records":[{"PartitionKey":"k","Data":"AA\\/A"}]}',
      '{"StreamName":"s","Records":[{"PartitionKey":"k","Data":"AAA\\u0041"}]}',
      '{"StreamName":"s","Records":[{"PartitionKey":"k","Data":"AAAA\\"}]}',
      '{"StreamName":"s","Records":[{"PartitionKey":"k\\u0041","Data":"AAAA"}]}',
      '{"StreamName":"s","Records":[{"PartitionKey":"k","Data":"AAAA","Data":"AAAA"}]}',
      '{"StreamName":"s","Records":[{"PartitionKey":"k","Data":"AAAA","PartitionKey":"j"}]}',
      '{"StreamName":"s","StreamName":"t","Records":[{"PartitionKey":"k","Data":"AAAA"}]}',
      '{"StreamName":"s","Records":[{"PartitionKey":"k","Data":"AAAA"}],"Records":[{"PartitionKey":"k","Data":"AAAA"}]}',
      '{"StreamName":"s","Records":[{"PartitionKey":"k","Data":"AAAA"},]}',
      '{"StreamName":"s","Records":[{"PartitionKey":"k","Data":"AAAA",}]}',
      '{"StreamName":"s","Records":[{"PartitionKey":"k","Data":"AAAA"}],}',
      '{"StreamName":"s","Records":[{"PartitionKey":"k","Data":"AAAA"}]',
      '{"StreamName":"s","Records":[{"PartitionKey":"k","Data":"AAAA"}}',
      '{"StreamName":"s","Records":[{"PartitionKey":"k" "Data":"AAAA"}]}',
      '{"StreamName":"s","Records":[{"PartitionKey":"k","Data":"AAAA"} {"PartitionKey":"k","Data":"AAAA"}]}',
      '{"StreamName":"s","Records":[{"PartitionKey":"k","Data":"AAAA"}]}\u00a0',
      '\ufeff{"StreamName":"s","Records":[{"PartitionKey":"k","Data":"AAAA"}]}',
      '{"StreamName":null,"Records":[{"PartitionKey":"k","Data":"AAAA"}]}',
      '{"StreamName":"bad name","Records":[{"PartitionKey":"k","Data":"AAAA"}]}',
      '{"StreamName":"","Records":[{"PartitionKey":"k","Data":"AAAA"}]}',
      '{"StreamName":"s","StreamId":"x","Records":[{"PartitionKey":"k","Data":"AAAA"}]}',
      '{"StreamName":"s","Other":"x","Records":[{"PartitionKey":"k","Data":"AAAA"}]}',
      '{"StreamName":"s","Records":[{"PartitionKey":"","Data":"AAA"},{"PartitionKey":"k","Data":null}]}',
      JSON.stringify({ StreamName: 'bad name', Records: [{ PartitionKey: '', Data: 'AAAA' }] }),
      Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x22, 0x22, 0x7d]),
      Buffer.concat([Buffer.from('{"StreamName":"s","Records":[{"PartitionKey":"'), Buffer.from([0xc3, 0x28]), Buffer.from('","Data":"AAAA"}]}')]),
    ];
    for (const body of cases) expectSame(body);
  });

  it('checks the signature on scanned bodies as on parsed ones', () => {
    const body = JSON.stringify({ StreamName: 's', Records: records(3) });
    const { fast } = expectSame(body, 'wrong-secret-wrong-secret');
    expect(fast.ok).toBe(false);
    expect(!fast.ok && fast.type).toBe('InvalidSignatureException');
    // A body that does not parse reports that before the signature, either way.
    expect(expectSame('{', 'wrong-secret-wrong-secret').fast).toMatchObject({ ok: false, type: 'SerializationException' });
  });

  it('agrees with the general path on thousands of randomly damaged bodies', () => {
    // A seeded generator (mulberry32), so that a failure reproduces.
    let seed = 0x19;
    const random = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(random() * 256)));
    const seeded = (n: number, size: number) => Array.from({ length: n }, (_, i) => ({ Data: bytes(size + (i % 3)).toString('base64'), PartitionKey: `key-${i}-${bytes(4).toString('hex')}` }));
    const alphabet = Buffer.from('{}[]:,"\\ \n\t=+/-_A0aé\u0000xnull', 'utf8');
    let scannedCount = 0;
    for (let round = 0; round < 3000; round++) {
      const body = Buffer.from(JSON.stringify({ StreamName: 's', Records: seeded(1 + (round % 4), round % 7) }));
      const damaged = Buffer.from(body);
      const edits = 1 + (round % 3);
      let out: Buffer = damaged;
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(random() * out.length);
        const c = alphabet[Math.floor(random() * alphabet.length)]!;
        const kind = round % 3;
        if (kind === 0) out[at] = c;
        else if (kind === 1) out = Buffer.concat([out.subarray(0, at), Buffer.from([c]), out.subarray(at)]);
        else out = Buffer.concat([out.subarray(0, at), out.subarray(at + 1)]);
      }
      if (expectSame(out).scanned) scannedCount++;
    }
    // Some damaged bodies are still valid ones the scanner takes (a changed base64 character, say).
    expect(scannedCount).toBeGreaterThan(100);
  });
});

describe('PutRecordBatch scanner (Firehose)', () => {
  const firehoseJob = (body: Buffer, secret = operator.secretAccessKey): OffloadJob => {
    const url = new URL('http://127.0.0.1:4567/');
    const signed = signRequest({
      method: 'POST', url, headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'Firehose_20150804.PutRecordBatch' }, body,
      accessKeyId: operator.accessKeyId, secretAccessKey: secret, region: 'us-east-1', service: 'firehose', now,
    });
    const headers: Record<string, string> = { host: url.host, 'content-length': String(body.length) };
    for (const [k, v] of Object.entries(signed)) headers[k.toLowerCase()] = v;
    return { method: 'POST', url: '/', headers, body: new Uint8Array(body), accessKeyId: operator.accessKeyId, secret: operator.secretAccessKey, service: 'firehose', region: 'us-east-1', now, kind: 'firehose.PutRecordBatch' };
  };
  const same = (body: Buffer | string, secret?: string) => {
    const b = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    const fast = prepareOffloaded(firehoseJob(b, secret), putRecordBatch.shape);
    const general = prepareOffloaded(firehoseJob(b, secret), putRecordBatch.shape, { scan: false });
    expect(plain(fast), String(body).slice(0, 200)).toEqual(plain(general));
    return fast;
  };
  const data = (n: number, size: number) => Array.from({ length: n }, (_, i) => ({ Data: randomBytes(size + (i % 3)).toString('base64') }));

  it('takes the usual bodies and gives what the general path gives', () => {
    for (const body of [
      JSON.stringify({ DeliveryStreamName: 'fo', Records: data(500, 1024) }),
      JSON.stringify({ Records: data(3, 0), DeliveryStreamName: 'fo' }),
      JSON.stringify({ DeliveryStreamName: 'fo', Records: data(4, 10) }, null, 1),
    ]) expect(same(body).ok).toBe(true);
  });

  it('leaves every other body to the general path, which answers exactly', () => {
    const big = Buffer.alloc(1_000_000, 1).toString('base64');
    for (const body of [
      '{}', '{"DeliveryStreamName":"fo"}', '{"DeliveryStreamName":"fo","Records":[]}', '{"DeliveryStreamName":"fo","Records":[{}]}',
      '{"DeliveryStreamName":"fo","Records":[{"Data":null}]}', '{"DeliveryStreamName":"fo","Records":[{"Data":"AAA"}]}',
      '{"DeliveryStreamName":"fo","Records":[{"Data":"AA-A"}]}', '{"DeliveryStreamName":"fo","Records":[{"Data":"AAAA","X":"1"}]}',
      '{"DeliveryStreamName":"bad name","Records":[{"Data":"AAAA"}]}', '{"Records":[{"Data":"AAAA"}]}',
      '{"DeliveryStreamName":"fo","Records":[{"Data":"AAAA"},{"Data":"AAAA","Data":"AAAA"}]}',
      JSON.stringify({ DeliveryStreamName: 'fo', Records: Array.from({ length: 501 }, () => ({ Data: 'AAAA' })) }),
      JSON.stringify({ DeliveryStreamName: 'fo', Records: Array.from({ length: 5 }, () => ({ Data: big })) }),
      JSON.stringify({ DeliveryStreamName: 'fo', Records: [{ Data: Buffer.alloc(1000 * 1024 + 1).toString('base64') }] }),
    ]) same(body);
    expect(same(JSON.stringify({ DeliveryStreamName: 'fo', Records: data(2, 5) }), 'wrong-secret-wrong-secret')).toMatchObject({ ok: false, type: 'InvalidSignatureException' });
  });
});
