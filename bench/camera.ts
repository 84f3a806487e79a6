/**
 * `npm run bench -- camera` (issue #13): what one camera costs the agent, and
 * how a recorded backlog shares a capped link with live telemetry.
 *
 * 1. Overhead: the agent bundle as its own process, paired over HTTPS with
 *    a real gateway (in this process), with no camera, then with one 720p
 *    2 Mbit/s H.264 camera passed through (a pre-encoded clip looped in real
 *    time, `-c copy`: ffmpeg only remuxes). Agent CPU (utime + stime of the
 *    agent process alone, from /proc: ffmpeg's own time is reported apart)
 *    and RSS, sampled every second, in both runs; the difference is the
 *    camera's overhead. Telemetry (10 records/s through the HTTP input)
 *    runs throughout, and its latency (POST to the gateway's arrival time)
 *    is measured.
 * 2. Backlog: the camera records `--backlog-seconds` of video (read faster
 *    than real time) with the gateway unreachable; then the agent runs with
 *    `uplink.bandwidthBytesPerSecondMax` = `--cap-kib` KiB/s while telemetry
 *    goes on, and the video bytes stored per second at the gateway are
 *    compared with the cap, and telemetry's latency with phase 1's.
 *
 * Options: --seconds N (each overhead run, default 30), --backlog-seconds N
 * (default 240), --cap-kib N (default 512), --upload-seconds N (default 60).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CreateStreamCommand as CreateDataStream, GetRecordsCommand, GetShardIteratorCommand } from '@aws-sdk/client-kinesis';
import { CreateStreamCommand } from '@aws-sdk/client-kinesis-video';
import { cameraRingDir } from '../agent/camera/index.ts';
import { listRing } from '../agent/camera/ring.ts';
import { tlsClient } from '../test/helpers/agent-process.ts';
import { cameraDevice, videoClients } from '../test/helpers/camera-agent.ts';
import { testClip } from '../test/helpers/ffmpeg-mkv.ts';
import { testGateway, waitActive } from '../test/helpers/gateway.ts';

export const description = 'agent overhead of one 720p 2 Mbit/s passthrough camera; backlog upload vs the link cap with live telemetry';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const ticks = 100; // USER_HZ on Linux

function flag(args: string[], name: string, dflt: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
}
const log = (s: string) => process.stdout.write(s + '\n');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function cpuSeconds(pid: number): number {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / ticks;
}
function rssMB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}
function childPids(pid: number): number[] {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

interface Meter { cpuPct: number; rssMBMean: number; rssMBMax: number; ffmpegCpuPct: number | undefined }

/** Samples the agent (and its ffmpeg child) every second for `seconds`. */
async function measure(pid: number, seconds: number): Promise<Meter> {
  const c0 = cpuSeconds(pid);
  const kids0 = new Map(childPids(pid).map((k) => [k, cpuSeconds(k)]));
  const t0 = Date.now();
  const rss: number[] = [];
  let kidCpu = 0;
  const kidsLast = new Map(kids0);
  for (let i = 0; i < seconds; i++) {
    await sleep(1000);
    rss.push(rssMB(pid));
    for (const k of childPids(pid)) {
      try {
        kidsLast.set(k, cpuSeconds(k));
        if (!kids0.has(k)) kids0.set(k, 0);
      } catch { /* gone */ }
    }
  }
  for (const [k, last] of kidsLast) kidCpu += last - (kids0.get(k) ?? 0);
  const wall = (Date.now() - t0) / 1000;
  return {
    cpuPct: Math.round(((cpuSeconds(pid) - c0) / wall) * 1000) / 10,
    rssMBMean: Math.round((rss.reduce((a, b) => a + b, 0) / rss.length) * 10) / 10,
    rssMBMax: Math.round(Math.max(...rss) * 10) / 10,
    ffmpegCpuPct: kidsLast.size ? Math.round((kidCpu / wall) * 1000) / 10 : undefined,
  };
}

export async function run(args: string[]): Promise<void> {
  const seconds = flag(args, 'seconds', 30);
  const backlogSeconds = flag(args, 'backlog-seconds', 240);
  const capKiB = flag(args, 'cap-kib', 512);
  const uploadSeconds = flag(args, 'upload-seconds', 60);
  const work = fs.mkdtempSync('/var/tmp/trb-bench-camera-');
  log('[setup] agent bundle, gateway (HTTPS, fsync always), a 720p 2 Mbit/s clip (encoded once, cached)');
  await new Promise<void>((resolve, reject) => spawn(process.execPath, [path.join(root, 'scripts/build.mjs'), '--outdir', path.join(work, 'dist'), '--quiet'], { stdio: 'inherit' }).on('exit', (c) => (c === 0 ? resolve() : reject(new Error(`build exited ${c}`)))));
  const bundle = path.join(work, 'dist', 'tributary-agent.mjs');
  const clip = path.join(work, 'camera-720p-2mbit.mkv');
  fs.writeFileSync(clip, testClip({ width: 1280, height: 720, seconds: 20, fps: 30, gopSeconds: 2, bitrate: '2M', noise: 20 }));
  const gw = await testGateway({ tlsEnabled: true, createDelayMs: 0, enforceLimits: false });
  const { kv, close } = videoClients(gw);
  const data = tlsClient(gw);
  let agent: ChildProcess | undefined;
  try {
    const state = await cameraDevice(gw, kv, 'bench-cam', []);
    for (const s of ['front-bench-cam', 'backlog-bench-cam']) await kv.send(new CreateStreamCommand({ StreamName: s, DataRetentionInHours: 24 }));
    await data.send(new CreateDataStream({ StreamName: 'telemetry-bench-cam', ShardCount: 1 }));
    await waitActive(data, 'telemetry-bench-cam');
    const httpPort = 18000 + Math.floor(Math.random() * 20000);
    const config = (o: { camera?: string[]; endpoint?: string; capBytes?: number }) => {
      const file = path.join(state, 'agent.yaml');
      fs.writeFileSync(file, [
        'gateway:', `  credentials: ${path.join(state, 'credentials.json')}`, ...(o.endpoint ? [`  endpoint: ${o.endpoint}`] : []),
        'state:', `  dir: ${state}`, 'destinations:', '  telemetry:', '    stream: telemetry-${device}',
        'inputs:', '  http:', '    enabled: true', `    port: ${httpPort}`, '    destination: telemetry',
        ...(o.camera ? ['  camera:', ...o.camera] : []),
        'uplink:', '  retryMaxMs: 1000', ...(o.capBytes ? [`  bandwidthBytesPerSecondMax: ${o.capBytes}`] : []), 'metrics:', '  port: 0',
      ].join('\n') + '\n');
      return file;
    };
    const start = async (file: string) => {
      const out = fs.openSync(path.join(work, 'agent.log'), 'a');
      const p = spawn(process.execPath, ['--max-semi-space-size=1', bundle, 'run', '-c', file], { stdio: ['ignore', out, out] });
      fs.closeSync(out);
      for (let i = 0; i < 200; i++) {
        if (await fetch(`http://127.0.0.1:${httpPort}/`, { method: 'GET' }).then(() => true, () => false)) break;
        await sleep(100);
      }
      return p;
    };
    const stop = async (p: ChildProcess) => {
      p.kill('SIGTERM');
      await new Promise((r) => p.once('exit', r));
    };
    // Telemetry: 10 records/s through the HTTP input, each carrying its send time.
    let telemetryOn = false;
    let telemetryDone = false;
    const telemetry = (async () => {
      while (!telemetryDone) {
        if (telemetryOn) await fetch(`http://127.0.0.1:${httpPort}/v1/records?partitionKey=t`, { method: 'POST', body: JSON.stringify({ sentMs: Date.now() }) }).catch(() => undefined);
        await sleep(100);
      }
    })();
    const latencies = async (fromMs: number, toMs: number): Promise<{ p50: number; p99: number; n: number }> => {
      const { ShardIterator } = await data.send(new GetShardIteratorCommand({ StreamName: 'telemetry-bench-cam', ShardId: 'shardId-000000000000', ShardIteratorType: 'AT_TIMESTAMP', Timestamp: new Date(fromMs) }));
      const l: number[] = [];
      let it = ShardIterator;
      for (let i = 0; i < 50 && it; i++) {
        const r = await data.send(new GetRecordsCommand({ ShardIterator: it, Limit: 10_000 }));
        for (const x of r.Records ?? []) {
          const sent = JSON.parse(Buffer.from(x.Data!).toString()).sentMs as number;
          if (sent >= fromMs && sent <= toMs) l.push(x.ApproximateArrivalTimestamp!.getTime() - sent);
        }
        if (!r.Records?.length) break;
        it = r.NextShardIterator;
      }
      l.sort((a, b) => a - b);
      return { p50: l[Math.floor(l.length * 0.5)] ?? NaN, p99: l[Math.floor(l.length * 0.99)] ?? NaN, n: l.length };
    };
    const camera = (name: string, stream: string, realtime: boolean) => [`    - name: ${name}`, `      stream: ${stream}`, `      source: { mkv: { path: ${clip}, loop: true, realtime: ${realtime} } }`];

    log(`[1/2] overhead: ${seconds} s without a camera, ${seconds} s with one 720p 2 Mbit/s passthrough camera; telemetry 10 records/s`);
    agent = await start(config({}));
    telemetryOn = true;
    await sleep(3000);
    const t1 = Date.now();
    const base = await measure(agent.pid!, seconds);
    const baseLatency = await latencies(t1, Date.now());
    await stop(agent);
    agent = await start(config({ camera: camera('front', 'front-${device}', true) }));
    await sleep(6000);
    const t2 = Date.now();
    const withCam = await measure(agent.pid!, seconds);
    const camLatency = await latencies(t2, Date.now());
    const fr = gw.video.find('front-bench-cam')!.fragments.list().filter((f) => f.ServerTimestamp >= t2);
    const videoKbit = (fr.reduce((n, f) => n + f.FragmentSizeInBytes, 0) * 8) / 1000 / ((Date.now() - t2) / 1000);
    await stop(agent);
    log(`  no camera:  agent CPU ${base.cpuPct}% of a core, RSS mean ${base.rssMBMean} MB (max ${base.rssMBMax}); telemetry latency p50 ${baseLatency.p50} ms, p99 ${baseLatency.p99} ms (${baseLatency.n} records)`);
    log(`  one camera: agent CPU ${withCam.cpuPct}% of a core, RSS mean ${withCam.rssMBMean} MB (max ${withCam.rssMBMax}); ffmpeg (copy) ${withCam.ffmpegCpuPct}%; video stored ${Math.round(videoKbit)} kbit/s; telemetry latency p50 ${camLatency.p50} ms, p99 ${camLatency.p99} ms`);
    const cpuOver = Math.round((withCam.cpuPct - base.cpuPct) * 10) / 10;
    const rssOver = Math.round((withCam.rssMBMean - base.rssMBMean) * 10) / 10;
    log(`  camera overhead: ${cpuOver}% of a core (target < 3%: ${cpuOver < 3 ? 'met' : 'NOT met'}), ${rssOver} MB RSS (target < 30 MB: ${rssOver < 30 ? 'met' : 'NOT met'})`);

    log(`[2/2] backlog: ${backlogSeconds} s of video recorded with the gateway unreachable, then uploaded under a ${capKiB} KiB/s link cap with telemetry`);
    const ring = cameraRingDir(state, 'backlog');
    telemetryOn = false;
    // Recorded an hour ago: the same clip with its timecodes moved (a remux, no encoding), read with `timestamps: source`,
    // so that the fragments are old (backlog priority) although they are read in seconds.
    const old = path.join(work, 'an-hour-ago.mkv');
    await new Promise<void>((resolve, reject) => spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', clip, '-c', 'copy', '-output_ts_offset', String(Math.round(Date.now() / 1000) - 3600), '-f', 'matroska', '-cluster_time_limit', '100000', '-cluster_size_limit', '100000000', '-y', old], { stdio: 'inherit' }).on('exit', (c) => (c === 0 ? resolve() : reject(new Error(`ffmpeg exited ${c}`)))));
    agent = await start(config({ endpoint: 'https://127.0.0.1:9', camera: [...camera('backlog', 'backlog-${device}', false).map((l) => l.replace(clip, old)), '      timestamps: source'] }));
    const needFragments = backlogSeconds / 2;
    for (let i = 0; i < 1200 && listRing(ring).length < needFragments; i++) await sleep(100);
    agent.kill('SIGKILL');
    await new Promise((r) => agent!.once('exit', r));
    // Keep exactly the backlog asked for: the capture ran a little further.
    for (const e of listRing(ring).slice(needFragments)) fs.rmSync(path.join(ring, fs.readdirSync(ring).find((f) => f.startsWith(String(e.producerMs).padStart(15, '0')))!));
    const backlogBytes = listRing(ring).reduce((n, e) => n + e.bytes, 0);
    // The camera records nothing new in this phase (a file that already ended is not configured): only the backlog goes.
    agent = await start(config({ capBytes: capKiB * 1024, camera: ['    - name: backlog', '      stream: backlog-${device}', `      source: { mkv: { path: ${clip}, realtime: true } }`] }));
    telemetryOn = true;
    await sleep(5000);
    const t3 = Date.now();
    await sleep(uploadSeconds * 1000);
    const t4 = Date.now();
    // From the first fragment stored in the window to the last: the bytes of the fragments after the first over that time, so that
    // a fragment straddling an edge of the window does not count whole or not at all.
    const up = gw.video.find('backlog-bench-cam')!.fragments.list().filter((f) => f.ServerTimestamp >= t3 && f.ServerTimestamp < t4).sort((a, b) => a.ServerTimestamp - b.ServerTimestamp);
    const rate = up.length < 2 ? 0 : up.slice(1).reduce((n, f) => n + f.FragmentSizeInBytes, 0) / ((up.at(-1)!.ServerTimestamp - up[0]!.ServerTimestamp) / 1000);
    const upLatency = await latencies(t3, t4);
    await stop(agent);
    telemetryOn = false;
    telemetryDone = true;
    await telemetry;
    log(`  backlog ${(backlogBytes / 1e6).toFixed(1)} MB; uploaded ${Math.round(rate / 1024)} KiB/s of video (${up.length} fragments in ${uploadSeconds} s) = ${Math.round((rate / (capKiB * 1024)) * 100)}% of the ${capKiB} KiB/s cap (target >= 90%); ` +
      `telemetry latency p50 ${upLatency.p50} ms, p99 ${upLatency.p99} ms (without a camera: p50 ${baseLatency.p50} ms, p99 ${baseLatency.p99} ms)`);
    log(`\nmachine: ${os.cpus().length} × ${os.cpus()[0]?.model}, Node ${process.version}; the agent is the dist bundle run as systemd runs it (--max-semi-space-size=1); the gateway runs in this process.`);
  } finally {
    if (agent && agent.exitCode === null) agent.kill('SIGKILL');
    close();
    data.destroy();
    await gw.close();
  }
}
