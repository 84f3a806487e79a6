// Proves the streaming Matroska reader on MKV written by real ffmpeg (frames
// checked against ffprobe's packets), in every split (byte by byte and random
// splits with fast-check), on live-producer layouts (Segment and Clusters of
// unknown size, several documents back to back as GetMedia answers), laced
// blocks, and hostile input: garbage, truncation and oversize give the right
// MkvError code, never a crash, and never a Cluster that was not complete.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  clusterElement, concat, ebmlHeader, element, encodeSize, infoElement, MkvError, MkvId, MkvReader, readCluster, readSize, segmentStart,
  simpleBlock, tagsElement, tracksElement, uintElement, unknownSizeStart, type MkvEvent,
} from '../../sdk/protocol/mkv/index.ts';
import { ffmpegAvailable, probePackets, testClip } from '../helpers/ffmpeg-mkv.ts';

const hasFfmpeg = ffmpegAvailable();
let clip: Uint8Array = new Uint8Array();
let clipFile = '';

beforeAll(() => {
  if (!hasFfmpeg) return;
  const bytes = testClip({ width: 320, height: 240, seconds: 5, tsOffsetSeconds: 1_700_000_000 });
  clip = new Uint8Array(bytes);
  clipFile = path.join(os.tmpdir(), `mkv-reader-${process.pid}.mkv`);
  fs.writeFileSync(clipFile, bytes);
});

/** Feeds `bytes` in the given pieces and returns the events as comparable values. */
function readAll(bytes: Uint8Array, cuts: number[] = [], options: ConstructorParameters<typeof MkvReader>[0] = {}): MkvEvent[] {
  const reader = new MkvReader(options);
  const events: MkvEvent[] = [];
  let at = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    events.push(...reader.push(bytes.subarray(at, cut)));
    at = cut;
  }
  events.push(...reader.push(bytes.subarray(at)));
  events.push(...reader.end());
  return events;
}

/** Events with byte arrays as hex, so that deep equality compares contents. */
function comparable(events: MkvEvent[]): unknown {
  return JSON.parse(JSON.stringify(events, (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : typeof v === 'bigint' ? String(v) : v)));
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof MkvError) return err.code;
    throw err;
  }
  return 'no error';
}

const clusters = (events: MkvEvent[]) => events.filter((e): e is Extract<MkvEvent, { type: 'cluster' }> => e.type === 'cluster');

describe.skipIf(!hasFfmpeg)('MKV from ffmpeg', () => {
  it('reads the header, tracks and one Cluster per GOP, frames matching ffprobe', () => {
    const events = readAll(clip);
    expect(events[0]).toMatchObject({ type: 'ebml', header: { docType: 'matroska' } });
    expect(events[1]).toMatchObject({ type: 'segment', sizeUnknown: true });
    const info = events.find((e) => e.type === 'info');
    expect(info).toMatchObject({ info: { timecodeScale: 1_000_000 } });
    const tracks = events.find((e) => e.type === 'tracks');
    expect(tracks).toMatchObject({ tracks: [{ number: 1, codecId: 'V_MPEG4/ISO/AVC', pixelWidth: 320, pixelHeight: 240, defaultDuration: 33_333_333 }] });
    expect((tracks as { tracks: Array<{ codecPrivate?: Uint8Array }> }).tracks[0]!.codecPrivate![0]).toBe(1); // avcC version

    const cs = clusters(events);
    expect(cs.map((c) => c.timecode)).toEqual([1_700_000_000_000, 1_700_000_002_000, 1_700_000_004_000]);
    const frames = cs.flatMap((c) => c.frames.map((f) => ({ pts: (c.timecode + f.timecode) / 1000, size: f.data.length, keyframe: f.keyframe })));
    const probed = probePackets(clipFile);
    expect(frames.length).toBe(150);
    expect(frames.map((f) => f.size)).toEqual(probed.map((p) => p.size));
    expect(frames.map((f) => f.keyframe)).toEqual(probed.map((p) => p.keyframe));
    for (let i = 0; i < frames.length; i++) expect(frames[i]!.pts).toBeCloseTo(probed[i]!.pts, 3);
    for (const c of cs) expect(c.frames[0]!.keyframe).toBe(true);
    expect(events.at(-1)).toEqual({ type: 'segment-end' });
  });

  it('gives the same events byte by byte', () => {
    const whole = comparable(readAll(clip));
    const reader = new MkvReader();
    const events: MkvEvent[] = [];
    for (let i = 0; i < clip.length; i++) events.push(...reader.push(clip.subarray(i, i + 1)));
    events.push(...reader.end());
    expect(comparable(events)).toEqual(whole);
  });

  it('gives the same events in any split', () => {
    const whole = comparable(readAll(clip));
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: clip.length }), { maxLength: 40 }), (cuts) => {
        expect(comparable(readAll(clip, cuts))).toEqual(whole);
      }),
      { numRuns: 60 },
    );
  });

  it('assembles known-size Clusters in one buffer or from parts alike, in any split (issue #12: one copy per byte on ingest)', () => {
    const whole = comparable(readAll(clip));
    const events = readAll(clip);
    // Each Cluster is its own buffer, exactly its bytes, with its frames as views into it.
    for (const c of clusters(events)) {
      expect(c.raw.byteOffset).toBe(0);
      expect(c.raw.buffer.byteLength).toBe(c.raw.length);
      for (const f of c.frames) expect(f.data.buffer).toBe(c.raw.buffer);
    }
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: clip.length }), { maxLength: 40 }), fc.constantFrom(0, 1000, 50_000), (cuts, clusterPreallocBytesMax) => {
        expect(comparable(readAll(clip, cuts, { clusterPreallocBytesMax }))).toEqual(whole);
      }),
      { numRuns: 60 },
    );
  });

  it('readCluster reads a stored Cluster in place: the reader\'s timecode and frames, views into its bytes (issue #12)', () => {
    for (const c of clusters(readAll(clip))) {
      const read = readCluster(c.raw);
      expect(read.timecode).toBe(c.timecode);
      expect(comparable(read.frames as unknown as MkvEvent[])).toEqual(comparable(c.frames as unknown as MkvEvent[]));
      for (const f of read.frames) expect(f.data.buffer).toBe(c.raw.buffer);
      expect(codeOf(() => readCluster(c.raw.subarray(0, c.raw.length - 1)))).toBe('INVALID_SIZE');
    }
    expect(codeOf(() => readCluster(clip.subarray(0, 64)))).toBe('UNEXPECTED_ELEMENT');
  });

  it('reads the same Clusters when the producer writes them with unknown sizes (kvssink layout)', () => {
    const known = clusters(readAll(clip));
    const live = concat([
      ebmlHeader(), segmentStart(), infoElement({ timecodeScale: 1_000_000 }),
      tracksElement([{ number: 1, codecId: 'V_MPEG4/ISO/AVC', pixelWidth: 320, pixelHeight: 240 }]),
      ...known.map((c) => concat([unknownSizeStart(MkvId.Cluster), c.raw.subarray(12)])),
    ]);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: live.length }), { maxLength: 20 }), (cuts) => {
        const got = clusters(readAll(live, cuts));
        expect(got.map((c) => Buffer.from(c.raw).toString('hex'))).toEqual(known.map((c) => Buffer.from(c.raw).toString('hex')));
      }),
      { numRuns: 30 },
    );
  });

  it('emits a Cluster only once complete: a truncated input yields a prefix of the Clusters and TRUNCATED', () => {
    const whole = clusters(readAll(clip)).map((c) => Buffer.from(c.raw).toString('hex'));
    fc.assert(
      fc.property(fc.integer({ min: 1, max: clip.length - 1 }), (cut) => {
        const reader = new MkvReader();
        const got = clusters(reader.push(clip.subarray(0, cut))).map((c) => Buffer.from(c.raw).toString('hex'));
        expect(got).toEqual(whole.slice(0, got.length));
        const code = codeOf(() => reader.end());
        // Cut exactly between two known-size Clusters of the unknown-size Segment, the input is a shorter valid stream.
        if (code === 'no error') expect(reader.inCluster).toBe(false);
        else expect(code).toBe('TRUNCATED');
      }),
      { numRuns: 200 },
    );
  });

  it('survives random corruption with MkvError only, and every Cluster it emits is well formed', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: clip.length - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), (edits) => {
        const bad = Uint8Array.from(clip);
        for (const [at, v] of edits) bad[at] = v;
        const reader = new MkvReader();
        try {
          for (const ev of [...reader.push(bad), ...reader.end()]) {
            if (ev.type !== 'cluster') continue;
            // A Cluster always re-reads as itself.
            const again = clusters(readAll(concat([ebmlHeader(), segmentStart(), ev.raw])));
            expect(Buffer.from(again[0]!.raw).equals(Buffer.from(ev.raw))).toBe(true);
          }
        } catch (err) {
          if (!(err instanceof MkvError)) throw err;
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('live and GetMedia layouts', () => {
  const frame = (n: number) => Uint8Array.from({ length: n }, (_, i) => i & 0xff);
  const head = concat([ebmlHeader(), segmentStart(), infoElement({ timecodeScale: 1_000_000 }), tracksElement([{ number: 1, codecId: 'V_MPEG4/ISO/AVC' }])]);
  const chunk = (tc: number, fragment: string) => concat([
    head,
    tagsElement([{ name: 'AWS_KINESISVIDEO_FRAGMENT_NUMBER', value: fragment }, { name: 'AWS_KINESISVIDEO_SERVER_TIMESTAMP', value: '1700000000.123' }]),
    unknownSizeStart(MkvId.Cluster), uintElement(MkvId.Timecode, tc),
    simpleBlock({ track: 1, timecode: 0, keyframe: true, data: frame(300) }), simpleBlock({ track: 1, timecode: 33, keyframe: false, data: frame(20) }),
    tagsElement([{ name: 'AWS_KINESISVIDEO_CONTINUATION_TOKEN', value: fragment }]),
  ]);

  it('reads documents back to back, ending unknown-size Clusters and Segments at the next Tags or EBML header', () => {
    const bytes = concat([chunk(1000, '91343852333181432392682062607743920146264709680'), chunk(3000, '91343852333181432392682062607743920146264709681')]);
    const want = comparable(readAll(bytes));
    const types = (want as Array<{ type: string }>).map((e) => e.type);
    expect(types).toEqual([
      'ebml', 'segment', 'info', 'tracks', 'tags', 'cluster-start', 'cluster', 'tags', 'segment-end',
      'ebml', 'segment', 'info', 'tracks', 'tags', 'cluster-start', 'cluster', 'tags', 'segment-end',
    ]);
    const tags = readAll(bytes).filter((e) => e.type === 'tags') as Array<{ tags: Array<{ name: string; value?: string }> }>;
    expect(tags[0]!.tags[0]).toEqual({ name: 'AWS_KINESISVIDEO_FRAGMENT_NUMBER', value: '91343852333181432392682062607743920146264709680' });
    const c = clusters(readAll(bytes))[1]!;
    expect(c.timecode).toBe(3000);
    expect(c.frames.map((f) => [f.timecode, f.keyframe, f.data.length])).toEqual([[0, true, 300], [33, false, 20]]);
    for (let i = 0; i < bytes.length; i += 7) expect(comparable(readAll(bytes, [i, i + 3]))).toEqual(want);
  });

  it('ends the last unknown-size Cluster at a clean end of input', () => {
    const bytes = concat([head, unknownSizeStart(MkvId.Cluster), uintElement(MkvId.Timecode, 5), simpleBlock({ track: 1, timecode: 0, keyframe: true, data: frame(10) })]);
    const reader = new MkvReader();
    expect(clusters(reader.push(bytes))).toEqual([]);
    expect(reader.inCluster).toBe(true);
    expect(clusters(reader.end()).map((c) => c.timecode)).toEqual([5]);
  });

  it('reads BlockGroups (keyframe unless ReferenceBlock, BlockDuration) and negative block timecodes', () => {
    const block = (tc: number) => concat([encodeSize(1), Uint8Array.of((tc >> 8) & 0xff, tc & 0xff, 0), frame(5)]);
    const bytes = concat([head, clusterElement(100, [
      element(MkvId.BlockGroup, concat([element(MkvId.Block, block(-2)), uintElement(MkvId.BlockDuration, 40)])),
      element(MkvId.BlockGroup, concat([element(MkvId.Block, block(40)), element(MkvId.ReferenceBlock, Uint8Array.of(0xd8))])),
    ])]);
    const [c] = clusters(readAll(bytes));
    expect(c!.frames.map((f) => [f.timecode, f.keyframe, f.duration])).toEqual([[-2, true, 40], [40, false, undefined]]);
    // Read in place from the stored Cluster, the same frames.
    expect(comparable(readCluster(c!.raw).frames as unknown as MkvEvent[])).toEqual(comparable(c!.frames as unknown as MkvEvent[]));
  });

  it('splits laced blocks (Xiph, EBML, fixed)', () => {
    const laced = (flags: number, sizes: Uint8Array, parts: Uint8Array[]) =>
      element(MkvId.SimpleBlock, concat([encodeSize(2), Uint8Array.of(0, 7, 0x80 | flags, parts.length - 1), sizes, ...parts]));
    const parts = [frame(300), frame(3), frame(70)];
    const xiph = laced(0x02, Uint8Array.of(255, 45, 3), parts);
    // EBML lacing: first size as a vint, then signed differences (3 - 300 = -297, in 2 bytes: -297 + 8191).
    const ebml = laced(0x06, concat([encodeSize(300, 2), encodeSize(-297 + 8191, 2)]), parts);
    const fixed = laced(0x04, new Uint8Array(0), [frame(10), frame(10)]);
    const bytes = concat([head, clusterElement(0, [xiph, ebml, fixed])]);
    const [c] = clusters(readAll(bytes));
    expect(c!.frames.map((f) => [f.track, f.timecode, f.data.length])).toEqual([
      [2, 7, 300], [2, 7, 3], [2, 7, 70], [2, 7, 300], [2, 7, 3], [2, 7, 70], [2, 7, 10], [2, 7, 10],
    ]);
    expect(Buffer.from(c!.frames[2]!.data).equals(Buffer.from(frame(70)))).toBe(true);
  });
});

describe('hostile input', () => {
  const head = concat([ebmlHeader(), segmentStart(), infoElement({ timecodeScale: 1_000_000 })]);
  const block = simpleBlock({ track: 1, timecode: 0, keyframe: true, data: new Uint8Array(100) });
  const fails = (bytes: Uint8Array, options?: ConstructorParameters<typeof MkvReader>[0]) => codeOf(() => {
    const r = new MkvReader(options);
    r.push(bytes);
    r.end();
  });

  it('names what is wrong', () => {
    expect(fails(Uint8Array.of(0, 1, 2, 3))).toBe('INVALID_ID');
    expect(fails(new TextEncoder().encode('GET / HTTP/1.1\r\n'))).toBe('UNEXPECTED_ELEMENT');
    expect(fails(concat([element(MkvId.EBML, concat([element(MkvId.DocType, new TextEncoder().encode('avi'))]))]))).toBe('UNSUPPORTED_DOCTYPE');
    expect(fails(concat([ebmlHeader(), segmentStart(), unknownSizeStart(MkvId.Info)]))).toBe('UNKNOWN_SIZE_NOT_ALLOWED');
    expect(fails(concat([head, unknownSizeStart(MkvId.Cluster), block]))).toBe('MISSING_TIMECODE');
    expect(fails(concat([head, clusterElement(0, [block]).subarray(0, 40)]))).toBe('TRUNCATED');
    expect(fails(concat([head, clusterElement(0, [block, block, block])]), { clusterBytesMax: 250 })).toBe('CLUSTER_TOO_LARGE');
    expect(fails(concat([head, clusterElement(0, [element(MkvId.SimpleBlock, Uint8Array.of(0x81, 0))])]))).toBe('INVALID_BLOCK');
    // A child claiming more bytes than its Cluster has.
    const cluster = clusterElement(0, [block]);
    const lying = concat([cluster.subarray(0, 4), encodeSize(cluster.length - 4 - readSize(cluster, 4).length - 10), cluster.subarray(4 + readSize(cluster, 4).length)]);
    expect(fails(concat([head, lying]))).toBe('ELEMENT_OVERFLOW');
  });

  it('stays failed after an error and refuses an oversized element before buffering it', () => {
    const r = new MkvReader({ elementBytesMax: 1000 });
    const big = concat([ebmlHeader(), segmentStart(), element(MkvId.Tracks, new Uint8Array(0)).subarray(0, 4), encodeSize(10_000_000)]);
    expect(codeOf(() => r.push(big))).toBe('ELEMENT_TOO_LARGE');
    expect(codeOf(() => r.push(new Uint8Array(1)))).toBe('ELEMENT_TOO_LARGE');
  });

  it('throws nothing but MkvError on random bytes, in any split', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.array(fc.nat(400), { maxLength: 5 }), fc.boolean(), (tail, cuts, withHead) => {
        const bytes = withHead ? concat([head, tail]) : tail;
        try {
          readAll(bytes, cuts.filter((c) => c <= bytes.length));
        } catch (err) {
          expect(err).toBeInstanceOf(MkvError);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('vints', () => {
  it('round-trip sizes in the shortest and in fixed widths, never as the unknown size', () => {
    fc.assert(
      fc.property(fc.oneof(fc.nat(300), fc.integer({ min: 0, max: 2 ** 40 }), fc.constantFrom(126, 127, 16382, 16383)), (n) => {
        const enc = encodeSize(n);
        expect(readSize(enc, 0)).toEqual({ size: n, length: enc.length });
        expect(readSize(encodeSize(n, 8), 0)).toEqual({ size: n, length: 8 });
      }),
    );
    expect(readSize(Uint8Array.of(0xff), 0)).toEqual({ size: -1, length: 1 });
    expect(encodeSize(127)).toEqual(Uint8Array.of(0x40, 0x7f));
  });
});
