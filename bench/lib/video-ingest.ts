/**
 * The ingest phases of `npm run bench -- video`:
 *
 * - ingest: N cameras (default 50), each a PutMedia connection to its own
 *   stream, replaying one pre-encoded 720p 2 Mbit/s clip (2 s GOPs) in real
 *   time: each fragment's bytes are written in ten pieces over its 2 s, as a
 *   live encoder's output arrives, with the timecodes moved on so that every
 *   fragment is new. Measured: the time from a fragment's last byte leaving
 *   the camera to its PERSISTED ack (fsync always). Target: p99 < 500 ms.
 * - live: on a sample of the cameras, a GetMedia NOW consumer; measured: the
 *   time from a fragment's last byte to its chunk arriving at the consumer
 *   (fragment complete on the device -> readable live).
 * - live HLS: on the same cameras, a LIVE HLS session whose media playlist is
 *   polled every 100 ms, as a player reloading it would; measured: the time
 *   from a fragment's last byte to the first playlist that lists it (fragment
 *   complete on the device -> listed in the LIVE playlist). Target: p99 < 1 s.
 *   The poll interval adds up to 100 ms to each figure.
 *
 * - reference: the same cameras, fragments and pace against
 *   bench/video-reference-server.ts, which appends each fragment to a file
 *   per camera, fsyncs it and acks it (the floor under "PERSISTED only once
 *   durable"), right after the gateway phase.
 *
 * The gateway is a child process (the CLI), so load generator and gateway do
 * not share an event loop; its CPU time per fragment is reported too, a
 * figure that other load on the machine inflates less than latencies.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { GetMediaCommand, KinesisVideoMediaClient } from '@aws-sdk/client-kinesis-video-media';
import { GetHLSStreamingSessionURLCommand, KinesisVideoArchivedMediaClient } from '@aws-sdk/client-kinesis-video-archived-media';
import { withTimecode } from '../../gateway/video/ingest/put-media-session.ts';
import { MkvReader } from '../../sdk/protocol/mkv/index.ts';
import { signRequest, unsignedPayload } from '../../sdk/protocol/sigv4.ts';
import { AckDecoder } from '../../sdk/protocol/video/acks.ts';

export const ingestTargets = Object.freeze({ persistedP99MsMax: 500, cameras: 50, hlsListedP99MsMax: 1000 });
/** How often the live HLS viewers reload their media playlist. */
export const hlsPollMs = 100;

export interface Latencies {
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface IngestResult {
  cameras: number;
  seconds: number;
  fragmentsSent: number;
  persisted: Latencies;
  errors: number;
  live: Latencies & { consumers: number };
  /** Last byte -> listed in a LIVE HLS media playlist polled every `pollMs`. */
  hlsLive: Latencies & { viewers: number; pollMs: number };
  gatewayCpuMsPerFragment: number;
  /** The load generator's own CPU per fragment (cameras, readers, viewers): it shares the machine with the gateway. */
  benchCpuMsPerFragment: number;
  ingestMBps: number;
  /** The same cameras against the reference server (write, fsync, ack): last byte -> ack. */
  reference?: Latencies & { errors: number };
}

function summary(xs: number[]): Latencies {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
  return { count: s.length, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: s.at(-1) ?? NaN };
}

/** The clip as a stream header and its Clusters (known size). */
export function clipParts(mkv: Uint8Array): { header: Buffer; clusters: Uint8Array[] } {
  const head: Uint8Array[] = [];
  const clusters: Uint8Array[] = [];
  for (const ev of new MkvReader().push(mkv)) {
    if (ev.type === 'ebml' || ev.type === 'segment' || ev.type === 'info' || ev.type === 'tracks') head.push(ev.raw);
    if (ev.type === 'cluster') clusters.push(ev.raw);
  }
  return { header: Buffer.concat(head), clusters };
}

interface Camera {
  name: string;
  /** Last-byte time by fragment timecode. */
  lastByte: Map<number, number>;
  /** Fragment timecode by fragment number (from the RECEIVED acks). */
  timecodeOf: Map<string, number>;
  /** PERSISTED acks so far. */
  persisted: number;
}

/** One camera: a PutMedia connection, fragments paced in real time, PERSISTED latencies recorded. */
async function runCamera(url: string, credentials: { accessKeyId: string; secretAccessKey: string }, cam: Camera, clip: { header: Buffer }, o: { fragmentBytes: Uint8Array[]; startMs: number; offsetMs: number; persisted: number[]; errors: { n: number } }): Promise<void> {
  await new Promise((r) => setTimeout(r, o.offsetMs));
  const target = new URL('/putMedia', url);
  const headers = signRequest({
    method: 'POST', url: target, body: '', payloadHash: unsignedPayload,
    headers: {
      'x-amzn-stream-name': cam.name, 'x-amzn-fragment-timecode-type': 'ABSOLUTE', 'x-amzn-producer-start-timestamp': (o.startMs / 1000).toFixed(3),
      'x-amzn-fragment-acknowledgment-required': '1', 'x-amz-content-sha256': unsignedPayload,
    },
    ...credentials, region: 'us-east-1', service: 'kinesisvideo', now: Date.now(),
  });
  const req = http.request({ host: target.hostname, port: target.port, path: '/putMedia', method: 'POST', headers: { ...headers, 'transfer-encoding': 'chunked' }, agent: false });
  const done = new Promise<void>((resolve) => {
    req.on('response', (res) => {
      const decoder = new AckDecoder();
      res.on('data', (c: Buffer) => {
        for (const ack of decoder.push(c)) {
          if (ack.EventType === 'ERROR') o.errors.n++;
          if (ack.EventType === 'RECEIVED' && ack.FragmentNumber) cam.timecodeOf.set(ack.FragmentNumber, ack.FragmentTimecode!);
          if (ack.EventType !== 'PERSISTED') continue;
          cam.persisted++;
          const sent = cam.lastByte.get(ack.FragmentTimecode!);
          if (sent !== undefined) o.persisted.push(performance.now() - sent);
        }
      });
      res.on('end', resolve);
      res.on('error', resolve);
    });
    req.on('error', () => {
      o.errors.n++;
      resolve();
    });
  });
  req.write(clip.header);
  await paceFragments(req, o.fragmentBytes, cam, o.startMs);
  await done;
}

/**
 * Writes each fragment in ten pieces over its 2 s, in real time, as a live
 * encoder's output arrives, and notes when its last byte left (by timecode).
 */
async function paceFragments(req: http.ClientRequest, fragments: Uint8Array[], cam: Camera, startMs: number): Promise<void> {
  const began = performance.now();
  for (let i = 0; i < fragments.length; i++) {
    const timecode = startMs + i * 2000;
    const bytes = fragments[i]!;
    const pieces = 10;
    for (let p = 0; p < pieces; p++) {
      // Piece p of fragment i is due at (i + (p + 1) / pieces) x 2 s: the last byte at the fragment's end.
      const due = began + (i + (p + 1) / pieces) * 2000;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const part = bytes.subarray(Math.floor((p * bytes.length) / pieces), Math.floor(((p + 1) * bytes.length) / pieces));
      if (p === pieces - 1) {
        req.write(part, () => cam.lastByte.set(timecode, performance.now()));
        cam.lastByte.set(timecode, performance.now());
      } else req.write(part);
    }
  }
  req.end();
}

/**
 * The reference camera: the same fragments at the same pace to the reference
 * server (bench/video-reference-server.ts), each prefixed by its length; the
 * server acks a fragment's index once it is written and fsynced.
 */
async function runReferenceCamera(url: string, cam: Camera, o: { fragmentBytes: Uint8Array[]; startMs: number; offsetMs: number; persisted: number[]; errors: { n: number } }): Promise<void> {
  await new Promise((r) => setTimeout(r, o.offsetMs));
  const target = new URL(`/ingest/${cam.name}`, url);
  const req = http.request({ host: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers: { 'transfer-encoding': 'chunked' }, agent: false });
  const framed = o.fragmentBytes.map((b) => {
    const out = Buffer.allocUnsafe(4 + b.length);
    out.writeUInt32BE(b.length, 0);
    out.set(b, 4);
    return out;
  });
  const done = new Promise<void>((resolve) => {
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
        const lines = text.split('\n');
        text = lines.pop()!;
        for (const line of lines) {
          cam.persisted++;
          const sent = cam.lastByte.get(o.startMs + Number(line) * 2000);
          if (sent !== undefined) o.persisted.push(performance.now() - sent);
        }
      });
      res.on('end', resolve);
      res.on('error', resolve);
    });
    req.on('error', () => {
      o.errors.n++;
      resolve();
    });
  });
  await paceFragments(req, framed, cam, o.startMs);
  await done;
}

/** A GetMedia NOW consumer: latency from a fragment's last byte to its chunk arriving here. */
async function runConsumer(url: string, credentials: { accessKeyId: string; secretAccessKey: string }, cam: Camera, out: number[], stop: AbortSignal): Promise<void> {
  const client = new KinesisVideoMediaClient({ endpoint: url, region: 'us-east-1', credentials: { ...credentials }, maxAttempts: 1 });
  try {
    const r = await client.send(new GetMediaCommand({ StreamName: cam.name, StartSelector: { StartSelectorType: 'NOW' } }));
    const payload = r.Payload as unknown as AsyncIterable<Uint8Array> & { destroy(): void };
    stop.addEventListener('abort', () => payload.destroy(), { once: true });
    const reader = new MkvReader();
    for await (const bytes of payload) {
      for (const ev of reader.push(bytes)) {
        if (ev.type !== 'cluster') continue;
        const sent = cam.lastByte.get(ev.timecode);
        if (sent !== undefined) out.push(performance.now() - sent);
      }
    }
  } catch (err) {
    if (!stop.aborted) throw err;
  } finally {
    client.destroy();
  }
}

/** A LIVE HLS viewer: reloads the media playlist every `hlsPollMs`; latency from a fragment's last byte to the first playlist listing it. */
async function runHlsViewer(url: string, credentials: { accessKeyId: string; secretAccessKey: string }, cam: Camera, out: number[], stop: AbortSignal): Promise<void> {
  // LIVE needs a stored fragment from the last 30 s: the session begins once the camera has one PERSISTED.
  while (!cam.persisted && !stop.aborted) await new Promise((r) => setTimeout(r, 50));
  if (stop.aborted) return;
  const client = new KinesisVideoArchivedMediaClient({ endpoint: url, region: 'us-east-1', credentials: { ...credentials }, maxAttempts: 1 });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const { HLSStreamingSessionURL } = await client.send(new GetHLSStreamingSessionURLCommand({ StreamName: cam.name, PlaybackMode: 'LIVE', Expires: 3600 }));
    const playlist = HLSStreamingSessionURL!.replace('getHLSMasterPlaylist.m3u8', 'getHLSMediaPlaylist.m3u8') + '&TrackNumber=1';
    const seen = new Set<string>();
    const unresolved: Array<{ number: string; at: number }> = [];
    let first = true;
    while (!stop.aborted) {
      const began = performance.now();
      const text = await new Promise<string>((resolve, reject) => {
        http.get(playlist, { agent }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve(body));
          res.on('error', reject);
        }).on('error', reject);
      });
      const at = performance.now();
      for (const m of text.matchAll(/FragmentNumber=(\d+)/g)) {
        if (seen.has(m[1]!)) continue;
        seen.add(m[1]!);
        // Fragments listed in the first playlist were there before the viewer came.
        if (!first) unresolved.push({ number: m[1]!, at });
      }
      first = false;
      for (let i = unresolved.length - 1; i >= 0; i--) {
        const tc = cam.timecodeOf.get(unresolved[i]!.number);
        const sent = tc === undefined ? undefined : cam.lastByte.get(tc);
        if (sent === undefined) continue;
        out.push(unresolved[i]!.at - sent);
        unresolved.splice(i, 1);
      }
      const wait = hlsPollMs - (performance.now() - began);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  } catch (err) {
    // A viewer that fails is reported, not fatal: the ingest figures stand on their own.
    if (!stop.aborted) process.stderr.write(`live HLS viewer of ${cam.name} failed: ${String(err)}\n`);
  } finally {
    agent.destroy();
    client.destroy();
  }
}

export async function runIngest(o: {
  url: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  clip: { header: Buffer; clusters: Uint8Array[] };
  cameras: number;
  seconds: number;
  consumers: number;
  streamName(i: number): string;
  cpu(): number;
  /** The reference server (bench/video-reference-server.ts), run after the gateway with the same cameras. */
  referenceUrl?: string;
}): Promise<IngestResult> {
  const fragments = Math.max(1, Math.floor(o.seconds / 2));
  const startMs = Date.now() - 60_000;
  // Every camera sends the same fragments (same timecodes, each its own stream): made once, not per camera.
  const fragmentBytes = Array.from({ length: fragments }, (_, i) => withTimecode(o.clip.clusters[i % o.clip.clusters.length]!, startMs + i * 2000));
  const cams: Camera[] = Array.from({ length: o.cameras }, (_, i) => ({ name: o.streamName(i), lastByte: new Map(), timecodeOf: new Map(), persisted: 0 }));
  const persisted: number[] = [];
  const live: number[] = [];
  const hlsListed: number[] = [];
  const errors = { n: 0 };
  const stop = new AbortController();
  const consumers = cams.slice(0, o.consumers).map((cam) => runConsumer(o.url, o.credentials, cam, live, stop.signal));
  const viewers = cams.slice(0, o.consumers).map((cam) => runHlsViewer(o.url, o.credentials, cam, hlsListed, stop.signal));
  await new Promise((r) => setTimeout(r, 500)); // the consumers' GetMedia calls reach the gateway first
  const cpuBefore = o.cpu();
  const t0 = performance.now();
  // Cameras start spread over one fragment's duration, as independent devices would.
  const benchCpuBefore = process.cpuUsage();
  await Promise.all(cams.map((cam, i) => runCamera(o.url, o.credentials, cam, o.clip, { fragmentBytes, startMs, offsetMs: (2000 * i) / o.cameras, persisted, errors })));
  const elapsed = (performance.now() - t0) / 1000;
  const cpuMs = (o.cpu() - cpuBefore) * 1000;
  const benchCpu = process.cpuUsage(benchCpuBefore);
  stop.abort();
  await Promise.allSettled([...consumers, ...viewers]);
  let reference: IngestResult['reference'];
  if (o.referenceUrl) {
    // The same cameras, fragments and pace against the reference server: write + fsync + ack, nothing else.
    const refCams: Camera[] = cams.map((c) => ({ name: c.name, lastByte: new Map(), timecodeOf: new Map(), persisted: 0 }));
    const refPersisted: number[] = [];
    const refErrors = { n: 0 };
    await Promise.all(refCams.map((cam, i) => runReferenceCamera(o.referenceUrl!, cam, { fragmentBytes, startMs, offsetMs: (2000 * i) / o.cameras, persisted: refPersisted, errors: refErrors })));
    reference = { ...summary(refPersisted), errors: refErrors.n + (o.cameras * fragments - refPersisted.length) };
  }
  const bytes = o.cameras * Array.from({ length: fragments }, (_, i) => o.clip.clusters[i % o.clip.clusters.length]!.length).reduce((a, b) => a + b, 0);
  return {
    cameras: o.cameras,
    seconds: fragments * 2,
    fragmentsSent: o.cameras * fragments,
    persisted: summary(persisted),
    errors: errors.n + (o.cameras * fragments - persisted.length),
    live: { ...summary(live), consumers: o.consumers },
    hlsLive: { ...summary(hlsListed), viewers: o.consumers, pollMs: hlsPollMs },
    gatewayCpuMsPerFragment: cpuMs / Math.max(1, persisted.length),
    benchCpuMsPerFragment: (benchCpu.user + benchCpu.system) / 1000 / Math.max(1, persisted.length),
    ingestMBps: bytes / 1e6 / elapsed,
    ...(reference ? { reference } : {}),
  };
}

export function reportIngest(r: IngestResult, loadAverage: number, cpus: number): string[] {
  const f = (x: number) => x.toFixed(1);
  const row = (name: string, s: Latencies) => `${name.padEnd(50)} ${String(s.count).padStart(6)} ${f(s.p50Ms).padStart(8)} ${f(s.p99Ms).padStart(8)} ${f(s.maxMs).padStart(8)}`;
  return [
    `Ingest: ${r.cameras} cameras x 720p 2 Mbit/s, 2 s fragments, ${r.seconds} s each (${r.fragmentsSent} fragments, ${f(r.ingestMBps)} MB/s), fsync always:`,
    `load average (1 min) at the end: ${loadAverage.toFixed(1)} on ${cpus} cores${loadAverage > cpus ? ' - other processes competed for the CPU: latencies are inflated' : ''}`,
    `${'phase'.padEnd(50)} ${'count'.padStart(6)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'max ms'.padStart(8)}`,
    row('last byte -> PERSISTED', r.persisted),
    row(`last byte -> GetMedia NOW (${r.live.consumers} viewers)`, r.live),
    row(`last byte -> LIVE HLS playlist (${r.hlsLive.viewers}, ${r.hlsLive.pollMs} ms polls)`, r.hlsLive),
    ...(r.reference ? [row('reference: last byte -> written + fsynced + acked', r.reference)] : []),
    `fragments without PERSISTED (errors, lost): ${r.errors}${r.reference ? ` (reference: ${r.reference.errors})` : ''}; gateway CPU ${f(r.gatewayCpuMsPerFragment)} ms per fragment (the viewers' reads included), load generator ${f(r.benchCpuMsPerFragment)} ms`,
    `target: PERSISTED p99 < ${ingestTargets.persistedP99MsMax} ms with ${r.cameras} cameras: ${r.persisted.p99Ms < ingestTargets.persistedP99MsMax && r.errors === 0 ? 'PASS' : 'FAIL'}${r.cameras < ingestTargets.cameras ? ` (target is ${ingestTargets.cameras} cameras)` : ''}`,
    `target: listed in the LIVE HLS playlist p99 < ${ingestTargets.hlsListedP99MsMax} ms: ${r.hlsLive.count > 0 && r.hlsLive.p99Ms < ingestTargets.hlsListedP99MsMax ? 'PASS' : 'FAIL'}`,
  ];
}
