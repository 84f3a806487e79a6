// Proves the camera buffer's caps and a full disk (issue #13), with the
// agent bundle, real ffmpeg and a real, small ext4 (loop-mounted; skipped
// with the reason where this machine cannot mount): while the gateway is
// unreachable, a drop-oldest camera wraps within its cap (oldest video goes,
// newest stays) and a keep-oldest camera keeps its first fragments and
// refuses new ones; then another program fills the disk, and the agent keeps
// running and recording: the drop-oldest ring lowers its cap and goes on
// rotating, says so in the log, and the status counts what was dropped.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { KinesisVideoClient } from '@aws-sdk/client-kinesis-video';
import { cameraRingDir } from '../../agent/camera/index.ts';
import { listRing } from '../../agent/camera/ring.ts';
import type { Gateway } from '../../gateway/gateway.ts';
import { startAgent, waitFor } from '../helpers/agent-process.ts';
import { cameraConfig, cameraDevice, cameraStatus, videoClients } from '../helpers/camera-agent.ts';
import { testClip } from '../helpers/ffmpeg-mkv.ts';
import { testGateway } from '../helpers/gateway.ts';
import { LinkProxy } from '../helpers/link-proxy.ts';
import { mountSmallFs } from '../helpers/small-fs.ts';

let gw: Gateway & { dataDir: string };
let kv: KinesisVideoClient;
let closeClients: () => void;
beforeAll(async () => {
  gw = await testGateway({ tlsEnabled: true, createDelayMs: 0 });
  ({ kv, close: closeClients } = videoClients(gw));
});
afterAll(async () => {
  closeClients?.();
  await gw?.close();
});

const capBytes = 4 * 1024 * 1024;
const ringBytes = (dir: string) => listRing(dir).reduce((n, e) => n + e.bytes, 0);

it('wraps at its cap, keeps the oldest for evidence, and outlives a full disk', async (ctx) => {
  const small = mountSmallFs(32);
  if (typeof small === 'string') return ctx.skip(small);
  // A camera at about 4 Mbit/s (noise keeps the encoder from compressing the test pattern away), looped in real time.
  const outside = fs.mkdtempSync('/var/tmp/trb-camdisk-');
  const clip = path.join(outside, 'noisy.mkv');
  fs.writeFileSync(clip, testClip({ width: 320, height: 240, seconds: 10, fps: 10, gopSeconds: 1, bitrate: '4M', noise: 60 }));
  const proxy = await LinkProxy.start({ host: '127.0.0.1', port: Number(new URL(gw.url).port) });
  proxy.pause();
  try {
    const state = await cameraDevice(gw, kv, 'cam-d', [], path.join(small.dir, 'state'));
    const camera = (name: string, policy: string) => [
      `    - name: ${name}`, `      stream: ${name}-\${device}`, `      source: { mkv: { path: ${clip}, loop: true } }`,
      `      buffer: { capBytes: ${capBytes}, policy: ${policy} }`,
    ];
    // The config and the log live off the small disk, so that they can be written when it is full.
    const config = cameraConfig(state, { endpoint: Object.assign(new URL(gw.url), { port: String(proxy.port) }).origin, cameras: [...camera('wrap', 'drop-oldest'), ...camera('evidence', 'keep-oldest')], configDir: outside });
    const agent = await startAgent(config);
    const wrap = cameraRingDir(state, 'wrap');
    const evidence = cameraRingDir(state, 'evidence');
    try {
      await waitFor('both rings full', () => (cameraStatus(state)?.wrap?.droppedOldest as number) > 0 && (cameraStatus(state)?.evidence?.droppedNewest as number) > 0, 90_000, agent.log);
      const firstEvidence = listRing(evidence)[0]!.producerMs;
      const newestWrap = listRing(wrap).at(-1)!.producerMs;
      await waitFor('the drop-oldest ring rotating', () => listRing(wrap).at(-1)!.producerMs > newestWrap + 2000, 30_000, agent.log);
      expect(ringBytes(wrap)).toBeLessThanOrEqual(capBytes);
      expect(ringBytes(evidence)).toBeLessThanOrEqual(capBytes);
      expect(listRing(evidence)[0]!.producerMs).toBe(firstEvidence);
      expect(agent.log()).toContain('camera buffer full: dropping the oldest video (drop-oldest)');
      expect(agent.log()).toContain('camera buffer full: new video is not kept (keep-oldest)');

      // Another program fills the disk and keeps writing (a runaway log, say): it takes whatever space is
      // freed. Filled once, the ring could go on forever without a refused write, since it drops before it
      // writes and a full ring can free as much as the next fragment needs; with the space taken as soon as
      // it is free, the first fragment larger than what the ring dropped for it is refused (fragment sizes
      // vary, so that comes within one loop of the clip).
      small.fillUp();
      const filler = setInterval(() => small.fillUp(), 25);
      try {
        await waitFor('a write refused for lack of space', () => agent.log().includes('camera buffer: no space left on the disk'), 60_000, agent.log);
      } finally {
        clearInterval(filler);
      }
      const after = listRing(wrap).at(-1)!.producerMs;
      await waitFor('still recording on the full disk (drop-oldest makes room from its own oldest)', () => listRing(wrap).at(-1)!.producerMs > after + 2000, 30_000, agent.log);
      expect(agent.proc.exitCode).toBe(null);
      expect(listRing(evidence)[0]!.producerMs).toBe(firstEvidence);
      // The ring holds less than its cap now: the disk, not the cap, is the limit (status.json is written again once there is room).
      await waitFor('status: the cap in force lowered', () => (cameraStatus(state)?.wrap?.capBytes as number) < capBytes, 30_000, agent.log);
    } finally {
      agent.proc.kill('SIGTERM');
      await agent.exited;
    }
  } finally {
    await proxy.close();
    small.unmount();
    fs.rmSync(outside, { recursive: true, force: true });
  }
}, 240_000);
