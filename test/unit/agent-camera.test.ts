// Proves the camera input's pure parts and its disk ring (issue #13): the
// fragmenter's capture-time anchor (never later than arrival, steady under
// jitter and bursts, following a drifting source), the fragment file codec
// (CRC, sealing, wrong key), the ring's caps and policies, torn-file
// recovery and age expiry, the config rules, and the ffmpeg arguments. MKV
// comes from the project's own writer, and from real ffmpeg where noted.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { captureSpec } from '../../agent/camera/capture-args.ts';
import { inUploadWindow, msUntilUploadWindow, resolveCameraConfig, type RawCameraConfig } from '../../agent/camera/config.ts';
import { decodeFragmentFile, encodeFragmentFile, ringKey } from '../../agent/camera/fragment-file.ts';
import { Fragmenter } from '../../agent/camera/fragmenter.ts';
import { fragmentDurationMs, sameTracks, splitStreamHeader, streamHeader, withClusterTimecode } from '../../agent/camera/mkv-edit.ts';
import { FragmentRing, fragmentFileName, listRing, type RingProblem } from '../../agent/camera/ring.ts';
import { parseAgentConfig } from '../../agent/config.ts';
import { clusterElement, concat, ebmlHeader, infoElement, MkvReader, segmentStart, simpleBlock, tracksElement } from '../../sdk/protocol/mkv/index.ts';

const frameMs = 40;
/** A live-style MKV: header, then `gops` Clusters of 50 frames (2 s at 25 fps), timecodes from `startTc`. */
function mkv(gops: number, o: { startTc?: number; uid?: bigint; codecPrivate?: Uint8Array } = {}): { head: Uint8Array; clusters: Uint8Array[] } {
  const head = concat([ebmlHeader(), segmentStart(), infoElement({ timecodeScale: 1_000_000 }),
    tracksElement([{ number: 1, codecId: 'V_MPEG4/ISO/AVC', pixelWidth: 320, pixelHeight: 240, defaultDuration: frameMs * 1_000_000, uid: o.uid ?? 7n, codecPrivate: o.codecPrivate ?? Uint8Array.of(1, 2, 3) }])]);
  const clusters: Uint8Array[] = [];
  for (let g = 0; g < gops; g++) {
    const blocks = Array.from({ length: 50 }, (_, i) => simpleBlock({ track: 1, timecode: i * frameMs, keyframe: i === 0, data: Uint8Array.of(g, i, 9, 9) }));
    clusters.push(clusterElement((o.startTc ?? 0) + g * 2000, blocks));
  }
  return { head, clusters };
}

describe('mkv edits', () => {
  it('moves a Cluster to another timecode without touching its blocks', () => {
    const { head, clusters } = mkv(1, { startTc: 0 });
    const moved = withClusterTimecode(clusters[0]!, 1_700_000_000_123);
    const evs = new MkvReader().push(concat([head, moved]));
    const c = evs.find((e) => e.type === 'cluster') as Extract<(typeof evs)[number], { type: 'cluster' }>;
    expect(c.timecode).toBe(1_700_000_000_123);
    expect(c.frames).toHaveLength(50);
    expect(c.frames[49]!.timecode).toBe(49 * frameMs);
    expect(fragmentDurationMs(c.frames, [{ number: 1, codecId: 'x', defaultDuration: frameMs * 1_000_000 }])).toBe(2000);
  });

  it('tells tracks apart by codec and size, not by their random UIDs', () => {
    const a = mkv(1, { uid: 1n }).head;
    const b = mkv(1, { uid: 99n }).head;
    const c = mkv(1, { codecPrivate: Uint8Array.of(4, 5) }).head;
    expect(sameTracks(a, b)).toBe(true);
    expect(sameTracks(a, c)).toBe(false);
    const parts = splitStreamHeader(streamHeader(splitStreamHeader(a)));
    expect(Buffer.from(parts.tracks).equals(Buffer.from(splitStreamHeader(a).tracks))).toBe(true);
  });
});

describe('fragmenter: capture time', () => {
  const feed = (f: Fragmenter, bytes: Uint8Array, now: number) => f.push(bytes, now);

  it('stamps the first fragment at its arrival less its length, the next ones by their timecodes', () => {
    const { head, clusters } = mkv(3);
    const f = new Fragmenter({ timestamps: 'capture', realtime: true, notBeforeMs: 0 });
    expect(feed(f, head, 1000)).toEqual([]);
    // ffmpeg hands a Cluster over when the next GOP begins: 2 s of video, arriving 2.2 s after capture began.
    const [a] = feed(f, clusters[0]!, 1_000_000 + 2200);
    const [b] = feed(f, clusters[1]!, 1_000_000 + 4150);
    const [c] = feed(f, clusters[2]!, 1_000_000 + 6400);
    expect(a!.producerMs).toBe(1_000_000 + 200);
    expect([b!.producerMs, c!.producerMs]).toEqual([1_002_200, 1_004_200]);
    expect(a!.durationMs).toBe(2000);
    // The stored Cluster carries the producer timestamp as its timecode (ABSOLUTE).
    const ev = new MkvReader().push(concat([head, c!.cluster])).find((e) => e.type === 'cluster') as { timecode: number };
    expect(ev.timecode).toBe(1_004_200);
  });

  it('never stamps a fragment later than it could have been captured, and ignores late bursts', () => {
    const { head, clusters } = mkv(20);
    const f = new Fragmenter({ timestamps: 'capture', realtime: true, notBeforeMs: 0, anchorWindowFragments: 5 });
    f.push(head, 0);
    const t0 = 10_000_000;
    // First fragment late (a slow start): anchor too late by 3 s.
    const first = f.push(clusters[0]!, t0 + 2000 + 3000)[0]!;
    expect(first.producerMs).toBe(t0 + 3000);
    // The next arrives on time: the anchor moves down at once (capture cannot follow arrival); starts
    // still increase, so this one starts just after the first, and the one after is back on time.
    const second = f.push(clusters[1]!, t0 + 4000)[0]!;
    expect(second.producerMs).toBe(t0 + 3001);
    expect(f.events).toContainEqual({ kind: 'anchor-moved', byMs: -3000 });
    expect(f.push(clusters[2]!, t0 + 6000)[0]!.producerMs).toBe(t0 + 4000);
    f.events.length = 0;
    // A stall, then a burst of four at once: all late, but not the whole window: timestamps stay continuous.
    const burst = f.push(concat(clusters.slice(3, 7)), t0 + 14_500);
    expect(burst.map((x) => x.producerMs)).toEqual([t0 + 6000, t0 + 8000, t0 + 10_000, t0 + 12_000]);
    expect(f.events).toEqual([]);
  });

  it('follows a source clock that runs slow, once the whole window is late', () => {
    const { head, clusters } = mkv(12);
    const f = new Fragmenter({ timestamps: 'capture', realtime: true, notBeforeMs: 0, anchorWindowFragments: 4, driftMsMax: 1000 });
    f.push(head, 0);
    const t0 = 50_000_000;
    // Each 2 s of source time takes 2.5 s of wall time: every fragment arrives later than the last.
    const stamps = clusters.map((c, i) => f.push(c, t0 + (i + 1) * 2500)[0]!.producerMs);
    expect(f.events.filter((e) => e.kind === 'anchor-moved').length).toBeGreaterThan(0);
    // Strictly increasing, never after arrival less length, and within the drift bound plus a window of lag.
    for (let i = 1; i < stamps.length; i++) expect(stamps[i]!).toBeGreaterThan(stamps[i - 1]!);
    stamps.forEach((s, i) => {
      expect(s).toBeLessThanOrEqual(t0 + (i + 1) * 2500 - 2000);
      expect(t0 + (i + 1) * 2500 - 2000 - s).toBeLessThan(1000 + 4 * 500 + 1);
    });
  });

  it('keeps timestamps increasing across runs and takes absolute source timecodes as they are', () => {
    const f = new Fragmenter({ timestamps: 'capture', realtime: true, notBeforeMs: 5_000_000 });
    const { head, clusters } = mkv(1);
    f.push(head, 0);
    // The clock went back (NTP): the fragment still starts after the previous run's last one ended.
    expect(f.push(clusters[0]!, 4_000_000)[0]!.producerMs).toBe(5_000_000);
    const abs = mkv(2, { startTc: 1_700_000_000_000 });
    const s = new Fragmenter({ timestamps: 'source', realtime: false, notBeforeMs: 0 });
    s.push(abs.head, 0);
    expect(s.push(concat(abs.clusters), 99).map((x) => x.producerMs)).toEqual([1_700_000_000_000, 1_700_000_002_000]);
  });

  it('skips a Cluster that does not start with a keyframe', () => {
    const head = mkv(0).head;
    const f = new Fragmenter({ timestamps: 'capture', realtime: true, notBeforeMs: 0 });
    f.push(head, 0);
    const bad = clusterElement(0, [simpleBlock({ track: 1, timecode: 0, keyframe: false, data: Uint8Array.of(1) })]);
    expect(f.push(bad, 5000)).toEqual([]);
    expect(f.events).toEqual([{ kind: 'fragment-skipped', reason: 'no-keyframe', timecode: 0 }]);
  });
});

describe('fragment files', () => {
  const f = { producerMs: 1_700_000_000_000, durationMs: 2000, header: Uint8Array.of(1, 2, 3), cluster: new Uint8Array(1000).fill(7) };

  it('round-trip in the clear and sealed; a flipped byte or another key is caught', () => {
    const plain = encodeFragmentFile(f);
    expect(decodeFragmentFile(plain)).toMatchObject({ producerMs: f.producerMs, durationMs: 2000, sealed: false });
    const key = ringKey(new Uint8Array(32).fill(1));
    const sealed = encodeFragmentFile(f, key);
    expect(sealed.includes(Buffer.from(f.cluster.subarray(0, 64)))).toBe(false);
    const back = decodeFragmentFile(sealed, key);
    expect(Buffer.from(back.cluster).equals(Buffer.from(f.cluster))).toBe(true);
    expect(() => decodeFragmentFile(sealed)).toThrow(expect.objectContaining({ code: 'CAMERA_KEY_REQUIRED' }));
    expect(() => decodeFragmentFile(sealed, ringKey(new Uint8Array(32).fill(2)))).toThrow(expect.objectContaining({ code: 'CAMERA_KEY_MISMATCH' }));
    for (const bytes of [plain, sealed]) {
      const damaged = Buffer.from(bytes);
      damaged[damaged.length - 5]! ^= 1;
      expect(() => decodeFragmentFile(damaged, key)).toThrow(expect.objectContaining({ code: 'FRAGMENT_FILE_CORRUPT' }));
      expect(() => decodeFragmentFile(bytes.subarray(0, bytes.length - 1), key)).toThrow(expect.objectContaining({ code: 'FRAGMENT_FILE_CORRUPT' }));
    }
  });
});

describe('ring', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });
  const tmp = () => {
    const d = fs.mkdtempSync('/var/tmp/trb-ring-');
    dirs.push(d);
    return path.join(d, 'cam');
  };
  const frag = (i: number, size = 100_000) => ({ producerMs: 1_000_000 + i * 2000, durationMs: 2000, header: Uint8Array.of(1), cluster: new Uint8Array(size).fill(i & 0xff) });
  const diskBytes = (dir: string) => fs.readdirSync(dir).reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);

  it('drop-oldest wraps within its cap; keep-oldest refuses the newest; both say what they dropped', async () => {
    const problems: RingProblem[] = [];
    const dir = tmp();
    const r = FragmentRing.open(dir, { capBytes: 1_000_000, policy: 'drop-oldest', onProblem: (p) => problems.push(p) });
    for (let i = 0; i < 30; i++) {
      expect(await r.append(frag(i))).toBe('stored');
      expect(diskBytes(dir)).toBeLessThanOrEqual(1_000_000);
    }
    const kept = r.list().map((e) => e.producerMs);
    expect(kept).toEqual(Array.from({ length: kept.length }, (_, k) => 1_000_000 + (30 - kept.length + k) * 2000));
    expect(r.stats().droppedOldestFragments).toBe(30 - kept.length);
    expect(problems.filter((p) => p.kind === 'dropped-oldest').reduce((n, p) => n + p.fragments, 0)).toBe(30 - kept.length);

    const dir2 = tmp();
    const k = FragmentRing.open(dir2, { capBytes: 1_000_000, policy: 'keep-oldest' });
    const results = [];
    for (let i = 0; i < 30; i++) results.push(await k.append(frag(i)));
    expect(k.list()[0]!.producerMs).toBe(1_000_000);
    expect(results.filter((x) => x === 'refused')).toHaveLength(30 - k.list().length);
    expect(k.stats().droppedNewestFragments).toBe(30 - k.list().length);
    expect(diskBytes(dir2)).toBeLessThanOrEqual(1_000_000);
  });

  it('expires fragments older than the age cap, under either policy', async () => {
    let now = 1_000_000;
    const r = FragmentRing.open(tmp(), { capBytes: 10_000_000, policy: 'keep-oldest', maxAgeMs: 10_000, now: () => now });
    for (let i = 0; i < 10; i++) {
      now = 1_000_000 + i * 2000 + 2000;
      await r.append(frag(i, 1000));
    }
    // At 20 s, fragments that ended before 10 s are gone (the one ending at 10 s stays).
    expect(r.list().map((e) => e.producerMs)).toEqual([1_008_000, 1_010_000, 1_012_000, 1_014_000, 1_016_000, 1_018_000]);
    expect(r.stats().expiredFragments).toBe(4);
  });

  it('reopens with what was there, drops temporary files and a torn newest fragment; removes by timestamp', async () => {
    const dir = tmp();
    const key = ringKey(new Uint8Array(32).fill(3));
    const r = FragmentRing.open(dir, { capBytes: 10_000_000, policy: 'drop-oldest', key });
    for (let i = 0; i < 4; i++) await r.append(frag(i, 5000));
    await r.close();
    // A crash mid-write leaves a temporary file; a filesystem that lost data behind a rename leaves a short file.
    fs.writeFileSync(path.join(dir, `${fragmentFileName({ producerMs: 1_008_000, durationMs: 2000, bytes: 99 })}.tmp`), 'x');
    const newest = path.join(dir, fragmentFileName(r.list()[3]!));
    fs.truncateSync(newest, 3000);
    const problems: RingProblem[] = [];
    const again = FragmentRing.open(dir, { capBytes: 10_000_000, policy: 'drop-oldest', key, onProblem: (p) => problems.push(p) });
    expect(again.list().map((e) => e.producerMs)).toEqual([1_000_000, 1_002_000, 1_004_000]);
    expect(problems.map((p) => p.kind)).toEqual(['torn', 'torn']);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const m = await again.read(again.list()[1]!);
    expect(m.cluster[0]).toBe(1);
    expect(again.remove(1_002_000)).toBe(true);
    expect(again.remove(1_002_000)).toBe(false);
    expect(listRing(dir).map((e) => e.producerMs)).toEqual([1_000_000, 1_004_000]);
    await expect(again.append(frag(1, 10))).rejects.toThrow(/increasing producer timestamp/);
  });
});

describe('camera config', () => {
  const base = 'gateway:\n  credentials: /c.json\ndestinations:\n  t:\n    stream: t\ninputs:\n  camera:\n';
  it('fills defaults by source and names the field of a mistake', () => {
    const c = parseAgentConfig(base + '    - name: front\n      stream: front-${device}\n      source: { rtsp: { url: rtsp://10.0.0.5/stream1 } }\n      uploadWindow: "22:00-06:00"\n', 'a.yaml');
    const cam = c.inputs.camera![0]!;
    expect(cam.source).toEqual({ kind: 'rtsp', url: 'rtsp://10.0.0.5/stream1', transport: 'tcp' });
    expect(cam.encode.codec).toBe('copy');
    expect(cam).toMatchObject({ fragmentSeconds: 2, priority: 40, backlogPriority: 10, timestamps: 'capture', buffer: { maxAgeHours: 168, policy: 'drop-oldest' }, uploadWindow: { startMinute: 1320, endMinute: 360 } });
    const synth = parseAgentConfig(base + '    - name: test\n      stream: s\n      source: { synthetic: {} }\n', 'a.yaml').inputs.camera![0]!;
    expect(synth.source).toEqual({ kind: 'synthetic', width: 1280, height: 720, fps: 30, realtime: true });
    expect(synth.encode.codec).toBe('libx264');

    expect(() => parseAgentConfig(base + '    - name: x\n      stream: s\n      source: {}\n', 'a.yaml')).toThrow('a.yaml: inputs.camera[0].source takes exactly one of synthetic, v4l2, rtsp, rpicam, mkv (got none)');
    expect(() => parseAgentConfig(base + '    - name: x\n      stream: s\n      source: { rtsp: { url: rtsp://a }, mkv: { path: /a.mkv } }\n', 'a.yaml')).toThrow('(got rtsp, mkv)');
    expect(() => parseAgentConfig(base + '    - name: x\n      stream: s\n      source: { v4l2: { device: /dev/video0, inputFormat: yuyv422 } }\n      encode: { codec: copy }\n', 'a.yaml')).toThrow('inputs.camera[0].encode.codec: copy needs a camera that gives H.264');
    expect(() => parseAgentConfig(base + '    - name: x\n      stream: s\n      source: { mkv: {} }\n', 'a.yaml')).toThrow('a.yaml:10: inputs.camera[0].source.mkv.path is required');
    expect(() => parseAgentConfig(base + '    - name: x\n      stream: s\n      source: { rtsp: { url: rtsp://a } }\n      uploadWindow: "10pm-6am"\n', 'a.yaml')).toThrow('a.yaml:11: inputs.camera[0].uploadWindow must be a local time range HH:MM-HH:MM');
    expect(() => parseAgentConfig(base + '    - name: x\n      stream: s\n      source: { rtsp: { url: rtsp://a } }\n      fragmentSeconds: 12\n', 'a.yaml')).toThrow('a.yaml:11: inputs.camera[0].fragmentSeconds must be at most 10 (got 12)');
    expect(() => parseAgentConfig(base + '    - name: x\n      stream: s\n      source: { rtsp: { url: rtsp://a } }\n    - name: x\n      stream: t\n      source: { rtsp: { url: rtsp://b } }\n', 'a.yaml')).toThrow('inputs.camera[1].name "x" is used by another camera');
  });

  it('upload windows wrap past midnight', () => {
    const w = { startMinute: 22 * 60, endMinute: 6 * 60 };
    const at = (h: number, m = 0) => new Date(2026, 0, 10, h, m).getTime();
    expect([at(21, 59), at(22), at(3), at(5, 59), at(6)].map((t) => inUploadWindow(w, t))).toEqual([false, true, true, true, false]);
    expect(msUntilUploadWindow(w, at(21))).toBe(3600_000);
    expect(msUntilUploadWindow(w, at(23))).toBe(0);
    expect(msUntilUploadWindow({ startMinute: 60, endMinute: 120 }, at(3))).toBe(22 * 3600_000);
  });

  it('builds ffmpeg arguments: a fixed GOP when encoding, copy otherwise, one Cluster per keyframe', () => {
    const raw = (source: object, encode: object = {}) => resolveCameraConfig({
      name: 'c', stream: 's', source, encode: { bitrate: 2_000_000, preset: 'veryfast', ...encode }, fragmentSeconds: 2, timestamps: 'capture',
      buffer: { maxAgeHours: 1, policy: 'drop-oldest' }, priority: 40, backlogPriority: 10, liveAgeSeconds: 30, restartMinMs: 1000, restartMaxMs: 60_000,
    } as unknown as RawCameraConfig, 'c');
    const synth = captureSpec(raw({ synthetic: { width: 1280, height: 720, fps: 30, realtime: true } }) as never);
    expect(synth.inputOptions).toEqual(['-re', '-f', 'lavfi']);
    expect(synth.outputOptions.join(' ')).toContain('-c:v libx264 -preset veryfast -tune zerolatency -pix_fmt yuv420p -b:v 2000000 -maxrate 2000000 -bufsize 4000000 -g 60 -keyint_min 60 -bf 0 -sc_threshold 0');
    expect(synth.outputOptions.join(' ')).toContain('-f matroska -cluster_time_limit 100000 -cluster_size_limit 100000000');
    const rtsp = captureSpec(raw({ rtsp: { url: 'rtsp://cam/1', transport: 'tcp' } }) as never);
    expect(rtsp.outputOptions.slice(0, 5)).toEqual(['-map', '0:v:0', '-c:v', 'copy', '-f']);
    const pi = captureSpec(raw({ rpicam: { fps: 25, width: 1280, height: 720 } }) as never);
    expect(pi.feeder).toEqual(['rpicam-vid', '-t', '0', '-n', '--inline', '--codec', 'h264', '-o', '-', '--intra', '50', '--framerate', '25', '--width', '1280', '--height', '720']);
    expect(pi.input).toBe('pipe:0');
    const v4l2 = captureSpec(raw({ v4l2: { device: '/dev/video0', inputFormat: 'yuyv422', width: 640, height: 480, fps: 15 } }, { codec: 'h264_v4l2m2m' }) as never);
    expect(v4l2.inputOptions).toEqual(['-f', 'v4l2', '-thread_queue_size', '64', '-input_format', 'yuyv422', '-video_size', '640x480', '-framerate', '15']);
    expect(v4l2.outputOptions.join(' ')).toContain('-c:v h264_v4l2m2m -pix_fmt yuv420p -b:v 2000000');
  });
});
