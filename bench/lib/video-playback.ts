/**
 * Playback phases of the video benchmark: HLS segment fetches by concurrent
 * viewers (each its own keep-alive connection, as browsers have), GetClip
 * through the gateway, and the ceiling for the clip: `ffmpeg -c copy` of the
 * same fragments (MKV in, faststart MP4 out), in the same run.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Failed requests (non-200 or errors). */
  errors: number;
  bytes: number;
}

export function summarize(ms: number[], errors: number, bytes: number): LatencySummary {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]! : NaN);
  return { count: sorted.length, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: sorted.at(-1) ?? NaN, errors, bytes };
}

/**
 * GET with a given agent; resolves with status and body size once the body
 * has fully arrived. The body is kept only when asked for: joining every
 * segment would cost the load generator CPU that the gateway then waits for.
 */
export function fetchTimed(url: string, agent: http.Agent, keepBody = true): Promise<{ status: number; bytes: number; ms: number; body: Buffer }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    http.get(url, { agent }, (res) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      res.on('data', (c: Buffer) => {
        bytes += c.length;
        if (keepBody) chunks.push(c);
      });
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, bytes, ms: performance.now() - t0, body: Buffer.concat(chunks) });
      });
      res.on('error', reject);
    }).on('error', reject);
  });
}

/** The segment URLs of an HLS media playlist, absolute. */
export function segmentUrls(mediaPlaylistUrl: string, playlist: string): string[] {
  return playlist.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => new URL(l, mediaPlaylistUrl).href);
}

export interface ViewerLoad {
  /** Segment URLs every viewer plays through, in order. */
  segments: string[];
  viewers: number;
  /** Each viewer starts at a different segment (spread evenly), so that fetches miss the cache as live viewers joining at different times would. */
  staggered: boolean;
  /** Times each viewer goes through the list. */
  rounds: number;
  /** Collects every latency too (to merge phases run in turns). */
  samples?: number[];
}

/** `viewers` concurrent players, each fetching segments back to back on its own keep-alive connection. */
export async function viewerFetches(load: ViewerLoad): Promise<LatencySummary> {
  const ms: number[] = [];
  let errors = 0;
  let bytes = 0;
  await Promise.all(Array.from({ length: load.viewers }, async (_, v) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const offset = load.staggered ? Math.floor((v * load.segments.length) / load.viewers) : 0;
    try {
      for (let r = 0; r < load.rounds; r++) {
        for (let i = 0; i < load.segments.length; i++) {
          const url = load.segments[(i + offset) % load.segments.length]!;
          try {
            const res = await fetchTimed(url, agent, false);
            if (res.status === 200) {
              ms.push(res.ms);
              bytes += res.bytes;
            } else errors++;
          } catch {
            errors++;
          }
        }
      }
    } finally {
      agent.destroy();
    }
  }));
  load.samples?.push(...ms);
  return summarize(ms, errors, bytes);
}

/**
 * The ceiling for GetClip: ffmpeg remuxing the same MKV (stream header and
 * clusters) to a faststart MP4 with `-c copy`, process start included.
 */
export async function ffmpegCopyClip(ffmpeg: string, mkv: Buffer): Promise<{ ms: number; bytes: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trb-bench-clip-'));
  const out = path.join(dir, 'clip.mp4');
  const t0 = performance.now();
  try {
    await new Promise<void>((resolve, reject) => {
      // faststart needs a seekable output, so the ceiling writes a file (ours answers from memory).
      const child = spawn(ffmpeg, ['-hide_banner', '-loglevel', 'error', '-nostdin', '-f', 'matroska', '-i', 'pipe:0', '-map', '0:v:0', '-c', 'copy', '-movflags', '+faststart', '-f', 'mp4', out], { stdio: ['pipe', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      child.stdin.on('error', () => {});
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg -c copy exited ${code}: ${err.trim()}`))));
      child.stdin.end(mkv);
    });
    const bytes = fs.statSync(out).size;
    return { ms: performance.now() - t0, bytes };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
