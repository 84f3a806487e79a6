// Proves the camera's promise against kill -9 (issue #13): the agent bundle
// records a synthetic camera with real ffmpeg and uploads it to a real
// gateway, and is SIGKILLed at a random moment, CAMERA_CRASH_ITERATIONS
// times (6 by default, to keep CI short; the issue asks for 20: run with
// CAMERA_CRASH_ITERATIONS=20). Every other run has the gateway unreachable
// (a proxy refusing connections), so kills land during recording offline and
// during the upload of the backlog. After each kill, the fragments on disk
// are what the agent had recorded and not yet seen PERSISTED; after a last
// clean run has drained the buffer, every one of them is in the stream,
// nothing is there twice, and the only holes in the run of producer
// timestamps are the kills' (the fragment in progress and the restart).
import fs from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { KinesisVideoArchivedMediaClient } from '@aws-sdk/client-kinesis-video-archived-media';
import type { KinesisVideoClient } from '@aws-sdk/client-kinesis-video';
import { cameraRingDir } from '../../agent/camera/index.ts';
import { listRing } from '../../agent/camera/ring.ts';
import type { Gateway } from '../../gateway/gateway.ts';
import { startAgent, waitFor } from '../helpers/agent-process.ts';
import { cameraConfig, cameraDevice, listAllFragments, syntheticCamera, videoClients } from '../helpers/camera-agent.ts';
import { testGateway } from '../helpers/gateway.ts';
import { LinkProxy } from '../helpers/link-proxy.ts';

const iterations = Number(process.env.CAMERA_CRASH_ITERATIONS ?? 6);

let gw: Gateway & { dataDir: string };
let kv: KinesisVideoClient;
let am: KinesisVideoArchivedMediaClient;
let closeClients: () => void;
beforeAll(async () => {
  gw = await testGateway({ tlsEnabled: true, createDelayMs: 0 });
  ({ kv, am, close: closeClients } = videoClients(gw));
});
afterAll(async () => {
  closeClients?.();
  await gw?.close();
});

it(`kill -9 during recording and upload, ${iterations} times: nothing recorded is lost or stored twice`, async () => {
  const proxy = await LinkProxy.start({ host: '127.0.0.1', port: Number(new URL(gw.url).port) });
  const state = await cameraDevice(gw, kv, 'cam-k', ['crash-cam-k']);
  const config = cameraConfig(state, {
    endpoint: Object.assign(new URL(gw.url), { port: String(proxy.port) }).origin,
    cameras: syntheticCamera('crash', 'crash-${device}', { fps: 10, fragmentSeconds: 1 }),
  });
  const dir = cameraRingDir(state, 'crash');
  /** Fragments the agent had recorded durably at some kill and not yet removed: each must reach the stream. */
  const mustArrive = new Set<number>();
  let kills = 0;
  try {
    for (let i = 0; i < iterations; i++) {
      const offline = i % 2 === 0;
      if (offline) proxy.pause();
      else proxy.resume();
      const t0 = Date.now();
      const agent = await startAgent(config);
      // Let it record (and upload, when online) for a while: 1.5-5 s after its first fragment of this run.
      if (offline) await waitFor('a fragment recorded', () => listRing(dir).some((e) => e.producerMs >= t0), 30_000, agent.log);
      else await waitFor('a fragment of this run uploaded', async () => (await listAllFragments(am, 'crash-cam-k')).some((f) => f.ProducerTimestamp!.getTime() >= t0), 60_000, agent.log);
      await new Promise((r) => setTimeout(r, 1500 + Math.random() * 3500));
      agent.proc.kill('SIGKILL');
      await agent.exited;
      kills++;
      for (const e of listRing(dir)) mustArrive.add(e.producerMs);
    }
    // A last clean run with the link up drains the buffer.
    proxy.resume();
    const runs = (log: string) => log.split('"agent running"').length;
    const before = fs.existsSync(`${state}/agent.log`) ? runs(fs.readFileSync(`${state}/agent.log`, 'utf8')) : 1;
    const agent = await startAgent(config);
    // The log is appended to by every run: wait for this run's line.
    await waitFor('the agent running', () => runs(agent.log()) > before, 30_000, agent.log);
    await waitFor('the buffer drained', async () => {
      const got = new Set((await listAllFragments(am, 'crash-cam-k')).map((f) => f.ProducerTimestamp!.getTime()));
      return [...mustArrive].every((ms) => got.has(ms));
    }, 120_000, agent.log);
    agent.proc.kill('SIGTERM');
    expect((await agent.exited).code).toBe(0);
  } finally {
    await proxy.close();
  }
  const fragments = await listAllFragments(am, 'crash-cam-k');
  const stamps = fragments.map((f) => f.ProducerTimestamp!.getTime());
  // Nothing twice: the gateway answered resends of PERSISTED fragments without storing them again.
  expect(new Set(stamps).size).toBe(stamps.length);
  // Everything that was on disk at a kill arrived.
  const got = new Set(stamps);
  expect([...mustArrive].filter((ms) => !got.has(ms))).toEqual([]);
  expect(mustArrive.size).toBeGreaterThan(iterations);
  // Holes only where the agent died: one per kill at most (the fragment in progress and the restart), and the last stop.
  let holes = 0;
  for (let i = 1; i < fragments.length; i++) {
    const prev = fragments[i - 1]!;
    if (stamps[i]! - (stamps[i - 1]! + prev.FragmentLengthInMilliseconds!) > 150) holes++;
  }
  expect(holes).toBeLessThanOrEqual(kills);
  fs.rmSync(state, { recursive: true, force: true });
}, 300_000);
