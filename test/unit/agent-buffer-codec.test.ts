// Proves the buffer's frame codec and chunked frame reader byte by byte: random records round-trip (plain and encrypted), every single-byte flip is caught, and frames are found whatever the read-chunk size, including frames larger than the chunk.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import nacl from 'tweetnacl';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame, frameBytesFor, frameBytesLimit, frameCrcOk, type FrameRecord } from '../../agent/buffer/frame-codec.ts';
import { readFrames } from '../../agent/buffer/frame-reader.ts';
import { DiskBuffer } from '../../agent/buffer/index.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-buffer-codec-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const recordArb = fc.record({
  capturedAtMs: fc.integer({ min: 0, max: 2 ** 50 }),
  source: fc.string({ minLength: 1, maxLength: 60 }),
  seq: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  partitionKey: fc.string({ minLength: 1, maxLength: 256 }),
  data: fc.uint8Array({ maxLength: 3000 }).map((a) => Buffer.from(a)),
  explicitHashKey: fc.option(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }).map(String), { nil: undefined }),
}).map((r) => {
  const out: FrameRecord = { capturedAtMs: r.capturedAtMs, source: r.source, seq: r.seq, partitionKey: r.partitionKey, data: r.data };
  if (r.explicitHashKey !== undefined) out.explicitHashKey = r.explicitHashKey;
  return out;
});

describe('agent buffer frame codec', () => {
  it('round-trips random records, plain and encrypted, at the size frameBytesFor predicts', () => {
    const key = nacl.randomBytes(32);
    fc.assert(fc.property(recordArb, fc.boolean(), (r, encrypted) => {
      const frame = encrypted ? encodeFrame(r, key, nacl.randomBytes(24)) : encodeFrame(r);
      expect(frame.length).toBe(frameBytesFor(r, encrypted));
      expect(frameCrcOk(frame)).toBe(true);
      expect(decodeFrame(frame, key)).toEqual({ kind: 'record', record: r });
    }), { numRuns: 300 });
  });

  it('detects every single-byte flip', () => {
    const frame = encodeFrame({ capturedAtMs: 5, source: 's', seq: 9, partitionKey: 'k', data: Buffer.from('hello world') });
    for (let i = 4; i < frame.length; i++) {
      const bad = Buffer.from(frame);
      bad[i] = bad[i]! ^ 0x01;
      expect(frameCrcOk(bad), `flip at ${i}`).toBe(false);
    }
  });

  it('finds the same frames with any chunk size, including frames larger than the chunk', async () => {
    const records = Array.from({ length: 40 }, (_, i): FrameRecord => ({
      capturedAtMs: i, source: 'src', seq: i, partitionKey: `k${i}`, data: Buffer.alloc(i % 5 === 0 ? 9000 : 37 * i, i),
    }));
    const file = path.join(root, 'frames.bin');
    fs.writeFileSync(file, Buffer.concat([Buffer.alloc(16), ...records.map((r) => encodeFrame(r))]));
    const size = fs.statSync(file).size;
    const fd = fs.openSync(file, 'r');
    for (const chunkBytes of [4, 17, 100, 4096, 65536]) {
      const seqs: number[] = [];
      for await (const ev of readFrames(fd, { from: 16, limit: size, chunkBytes, frameBytesLimit })) {
        expect(ev.kind).toBe('frame');
        if (ev.kind === 'frame') {
          const d = decodeFrame(ev.frame);
          if (d.kind === 'record') seqs.push(d.record.seq);
        }
      }
      expect(seqs, `chunk ${chunkBytes}`).toEqual(records.map((r) => r.seq));
    }
    // A cut in the middle of the last frame is reported as torn, after every whole frame.
    const events = [];
    for await (const ev of readFrames(fd, { from: 16, limit: size - 3, chunkBytes: 64, frameBytesLimit })) events.push(ev.kind);
    expect(events.slice(-2)).toEqual(['frame', 'torn']);
    fs.closeSync(fd);
  });

  it('stores a record larger than the segment size and the read buffer in a segment of its own', async () => {
    const b = await DiskBuffer.open(path.join(root, 'big'), { fsync: 'never', segmentBytes: 64 * 1024, capBytes: 4 * 1024 * 1024, readBufferBytes: 4096 });
    const big = Buffer.alloc(1024 * 1024, 3);
    await b.append([{ source: 's', partitionKey: 'a', data: Buffer.from('small') }, { source: 's', partitionKey: 'b', data: big }, { source: 's', partitionKey: 'c', data: Buffer.from('after') }]);
    const got = await b.peek(10, 8 * 1024 * 1024);
    expect(got.map((r) => r.data.length)).toEqual([5, big.length, 5]);
    expect(got[1]!.data.equals(big)).toBe(true);
    await b.close();
    const tiny = await DiskBuffer.open(path.join(root, 'tiny'), { fsync: 'never', segmentBytes: 64 * 1024, capBytes: 1024 * 1024 });
    await expect(tiny.append([{ source: 's', partitionKey: 'b', data: big }])).rejects.toMatchObject({ code: 'BUFFER_RECORD_TOO_LARGE' });
    await tiny.close();
  });
});
