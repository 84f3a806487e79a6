/**
 * Stored-fragment fixtures for the playback tests: real ffmpeg MKV split as
 * the ingest stores it (the stream header, then one Cluster per fragment),
 * an in-memory fragment index with the store's interface, and ffprobe.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MkvReader } from '../../sdk/protocol/mkv/index.ts';
import type { FragmentIndex, FragmentMedia, FragmentMeta, PlaybackStream, SelectorType } from '../../gateway/video/playback/source.ts';

export interface SplitMkv {
  header: Buffer;
  clusters: Array<{ timecode: number; raw: Buffer }>;
}

/**
 * A camera in real time: yields the stream header, then each Cluster once the wall clock reaches
 * `producerStartMs` plus its offset in the clip (pacing, as a camera films; not synchronisation), until
 * the clip ends or `stop()`. `sent` counts the Clusters yielded.
 */
export function pacedCamera(clip: SplitMkv, producerStartMs: number): { frames: AsyncGenerator<Uint8Array>; stop(): void; readonly sent: number } {
  let stopped = false;
  let sent = 0;
  async function* frames(): AsyncGenerator<Uint8Array> {
    yield clip.header;
    for (const c of clip.clusters) {
      const due = producerStartMs + (c.timecode - clip.clusters[0]!.timecode);
      while (!stopped && Date.now() < due) await new Promise((r) => setTimeout(r, 50));
      if (stopped) return;
      yield c.raw;
      sent++;
    }
  }
  return { frames: frames(), stop: () => (stopped = true), get sent() { return sent; } };
}

/** Splits an MKV document into its stream header (EBML, Segment start, Info, Tracks) and Clusters. */
export function splitMkv(mkv: Buffer): SplitMkv {
  const head: Uint8Array[] = [];
  const clusters: SplitMkv['clusters'] = [];
  for (const ev of new MkvReader().push(mkv)) {
    if (ev.type === 'ebml' || ev.type === 'segment' || ev.type === 'info' || ev.type === 'tracks') head.push(ev.raw);
    if (ev.type === 'cluster') clusters.push({ timecode: ev.timecode, raw: Buffer.from(ev.raw) });
  }
  return { header: Buffer.concat(head), clusters };
}

/** Encodes a short clip with the given codec arguments (cached by its arguments under the OS temp directory). */
export function encodeClip(name: string, args: string[]): Buffer {
  const file = path.join(os.tmpdir(), `tributary-play-${name}.mkv`);
  if (fs.existsSync(file)) return fs.readFileSync(file);
  const out = execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', ...args, '-f', 'matroska', '-cluster_time_limit', '100000', '-cluster_size_limit', '100000000', 'pipe:1'], { maxBuffer: 256 * 1024 * 1024 });
  fs.writeFileSync(`${file}.${process.pid}`, out);
  fs.renameSync(`${file}.${process.pid}`, file);
  return out;
}

/** 320x240 15 fps H.264 with two B-frames per P-frame, 1 s GOPs. */
export const bframeClipArgs = (seconds: number) => ['-f', 'lavfi', '-i', `testsrc=size=320x240:rate=15`, '-t', String(seconds), '-c:v', 'libx264', '-preset', 'veryfast', '-bf', '2', '-pix_fmt', 'yuv420p', '-g', '15', '-keyint_min', '15', '-sc_threshold', '0'];
/** 320x240 15 fps H.265, 1 s GOPs. */
export const hevcClipArgs = (seconds: number) => ['-f', 'lavfi', '-i', `testsrc=size=320x240:rate=15`, '-t', String(seconds), '-c:v', 'libx265', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-x265-params', 'log-level=error:keyint=15:min-keyint=15:bframes=0'];

/** An in-memory fragment index holding the clusters of one MKV, fragments `stepMs` apart from `startMs`. */
export function memoryIndex(split: SplitMkv, startMs: number, options: { lengthMs?: number; serverOffsetMs?: number } = {}): FragmentIndex & { add(f: FragmentMedia): void } {
  const media = new Map<string, FragmentMedia>();
  const metas: FragmentMeta[] = [];
  const first = split.clusters[0]?.timecode ?? 0;
  const add = (f: FragmentMedia) => {
    metas.push(f.meta);
    media.set(f.meta.FragmentNumber, f);
  };
  split.clusters.forEach((c, i) => {
    const next = split.clusters[i + 1];
    const length = options.lengthMs ?? (next ? next.timecode - c.timecode : 2000);
    const producer = startMs + (c.timecode - first);
    add({
      meta: {
        // 47 digits, as AWS's; one length, so string order is number order.
        FragmentNumber: '91343852333181432392682062' + String(i).padStart(21, '0'),
        ProducerTimestamp: producer,
        ServerTimestamp: producer + (options.serverOffsetMs ?? 150),
        FragmentLengthInMilliseconds: length,
        FragmentSizeInBytes: split.header.length + c.raw.length,
      },
      header: split.header,
      cluster: c.raw,
    });
  });
  const ts = (f: FragmentMeta, kind: SelectorType) => (kind === 'PRODUCER_TIMESTAMP' ? f.ProducerTimestamp : f.ServerTimestamp);
  return {
    add,
    list: () => metas,
    find: (n) => media.get(n)?.meta,
    range: (kind, a, b) => metas.filter((f) => ts(f, kind) >= a && ts(f, kind) <= b),
    read: async (n) => media.get(n),
  };
}

export function memoryStream(name: string, fragments: FragmentIndex, dataRetentionInHours = 24): PlaybackStream {
  return { name, arn: `arn:aws:kinesisvideo:us-east-1:000000000000:stream/${name}/1700000000000`, dataRetentionInHours, fragments };
}

export interface Probe {
  codec: string;
  width: number;
  height: number;
  frames: number;
  duration: number;
}

/** ffprobe of a file: the first video stream's codec, size and decoded frame count, and the container duration. */
export function probe(file: string): Probe {
  const out = execFileSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width,height,nb_read_frames:format=duration', '-of', 'json', file], { encoding: 'utf8' });
  const j = JSON.parse(out) as { streams: Array<{ codec_name: string; width: number; height: number; nb_read_frames: string }>; format: { duration?: string } };
  const s = j.streams[0]!;
  return { codec: s.codec_name, width: s.width, height: s.height, frames: Number(s.nb_read_frames), duration: Number(j.format.duration ?? NaN) };
}

/** Decodes a file completely and returns ffmpeg's error output (empty when the stream decodes cleanly). */
export function decodeErrors(file: string): string {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-'], { encoding: 'utf8' });
  return (r.stderr ?? '') + (r.status === 0 ? '' : `exit ${r.status}`);
}

/**
 * Stores the clusters of an MKV as fragments of a gateway's video stream,
 * through the stream's real fragment log (what PutMedia does after parsing),
 * with producer time starting at `producerStartMs` and the server receiving
 * each `serverLagMs` later; resolves once all are durable.
 */
export async function storeFragments(log: { append(f: { header: Uint8Array; cluster: Uint8Array; producerMs: number; serverMs: number; durationMs: number }): { durable: Promise<void> } }, split: SplitMkv, producerStartMs: number, serverLagMs = 200): Promise<void> {
  const first = split.clusters[0]?.timecode ?? 0;
  const waits: Array<Promise<void>> = [];
  split.clusters.forEach((c, i) => {
    const next = split.clusters[i + 1];
    const producerMs = producerStartMs + (c.timecode - first);
    waits.push(log.append({ header: split.header, cluster: c.raw, producerMs, serverMs: producerMs + serverLagMs, durationMs: next ? next.timecode - c.timecode : 2000 }).durable);
  });
  await Promise.all(waits);
}
