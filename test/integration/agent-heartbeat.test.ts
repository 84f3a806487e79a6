// The agent's heartbeat (agent/heartbeat.ts) with the real agent bundle and a
// TLS gateway: the paired agent reports at start (link unknown, empty buffer),
// again as soon as its link comes up after a record is sent, with its version,
// per destination the stream, depth and link; the gateway keeps the last one
// per device with the time it arrived (ListHeartbeats), cameras included, which an operator may
// read and a device may not; a device cannot list or forge another's.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { JsonRpcClient } from '../../sdk/http/json-rpc-client.ts';
import { agentVersion, heartbeatOf } from '../../agent/heartbeat.ts';
import { createActiveStream, testGateway, testOperator } from '../helpers/gateway.ts';
import { freePort, pairedState, startAgent, tlsClient, waitFor } from '../helpers/agent-process.ts';
import { repoRoot } from '../helpers/bundles.ts';

type Gw = Awaited<ReturnType<typeof testGateway>>;
type Beat = { Name: string; AccessKeyId: string; ReceivedAt: number; AgentVersion: string; DiskLow: boolean; Destinations: Array<{ Name: string; Stream: string; BufferRecords: number; Link: string; LastError?: string }> };
let gw: Gw;
let admin: JsonRpcClient;
beforeAll(async () => {
  gw = await testGateway({ tlsEnabled: true, createDelayMs: 0, enforceLimits: false });
  const ca = fs.readFileSync(path.join(gw.dataDir, 'tls', 'ca.crt'), 'utf8');
  admin = new JsonRpcClient({ endpoint: gw.url, region: 'us-east-1', service: 'tributary', targetPrefix: 'Tributary_20261125', credentials: testOperator, ca });
});
afterAll(async () => {
  admin?.close();
  await gw?.close();
});

const beatOf = async (name: string) => (await admin.call<{ Heartbeats: Beat[] }>('ListHeartbeats', {})).Heartbeats.find((b) => b.Name === name);

it('the agent reports at start and when its link comes up; the gateway keeps the last report per device', async () => {
  expect(agentVersion).toBe(JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).version);
  const state = await pairedState(gw, 'pi-beat');
  await createActiveStream(tlsClient(gw), 'telemetry-pi-beat', 1);
  const port = await freePort();
  const config = path.join(state, 'agent.yaml');
  fs.writeFileSync(config, [
    'gateway:', `  credentials: ${path.join(state, 'credentials.json')}`,
    'state:', `  dir: ${state}`,
    'inputs:', '  http:', '    enabled: true', `    port: ${port}`, '    destination: main',
    'destinations:', '  main:', '    stream: telemetry-${device}',
    'uplink:', '  retryMaxMs: 200', '  requestTimeoutMs: 2000',
  ].join('\n') + '\n');
  const before = Date.now();
  const agent = await startAgent(config);
  try {
    await waitFor('the first heartbeat', async () => (await beatOf('pi-beat')) !== undefined, 30_000, agent.log);
    const first = (await beatOf('pi-beat'))!;
    expect(first).toMatchObject({ AgentVersion: agentVersion, DiskLow: false, Destinations: [{ Name: 'main', Stream: 'telemetry-pi-beat', BufferRecords: 0, Link: 'unknown' }] });
    expect(first.ReceivedAt * 1000).toBeGreaterThanOrEqual(before - 1000);
    const creds = JSON.parse(fs.readFileSync(path.join(state, 'credentials.json'), 'utf8')) as { accessKeyId: string; secretAccessKey: string };
    expect(first.AccessKeyId).toBe(creds.accessKeyId);

    // A record sent: the link comes up, and the heartbeat says so within the change check (5 s), not the 60 s interval.
    const res = await fetch(`http://127.0.0.1:${port}/v1/records?partitionKey=pi-beat`, { method: 'POST', body: '{"t":21.5}' });
    expect(res.status).toBeLessThan(300);
    await waitFor('a heartbeat with the link up', async () => (await beatOf('pi-beat'))?.Destinations[0]?.Link === 'up', 20_000, agent.log);
    expect((await beatOf('pi-beat'))!.ReceivedAt).toBeGreaterThanOrEqual(first.ReceivedAt);

    // A device reports only itself, and cannot read the others'.
    const device = new JsonRpcClient({ endpoint: gw.url, region: 'us-east-1', service: 'tributary', targetPrefix: 'Tributary_20261125', credentials: creds, ca: fs.readFileSync(path.join(gw.dataDir, 'tls', 'ca.crt'), 'utf8') });
    try {
      await expect(device.call('ListHeartbeats', {})).rejects.toMatchObject({ name: 'AccessDeniedException' });
      // With a camera: its state, ring depth, oldest unsent fragment and restarts come through as the agent's status has them.
      const camera = { stream: 'cam-pi-beat', state: 'recording', recording: true, ffmpegPid: 7, restarts: 2, fragments: 3, bytes: 4096, oldestUnsentAt: undefined, oldestUnsentAgeMs: 1500.4, capBytes: 1 << 20, policy: 'drop-oldest' };
      const forged = heartbeatOf({ device: 'other', pid: 1, bootId: 'x', startedAt: '', writtenAt: '', disk: { low: true, freeBytes: 0 }, destinations: {}, cameras: { front: camera as never } });
      await device.call('PutHeartbeat', forged);
      const got = (await beatOf('pi-beat'))!;
      expect(got.DiskLow).toBe(true);
      expect((got as unknown as { Cameras: unknown }).Cameras).toEqual([{ Name: 'front', Stream: 'cam-pi-beat', State: 'recording', BufferFragments: 3, BufferBytes: 4096, OldestUnsentAgeMs: 1500, Restarts: 2 }]);
      expect((await admin.call<{ Heartbeats: Beat[] }>('ListHeartbeats', {})).Heartbeats.map((b) => b.Name)).toEqual(['pi-beat']);
      // Out-of-range input is refused by the shape check.
      await expect(device.call('PutHeartbeat', { ...forged, AgentVersion: '' })).rejects.toMatchObject({ name: 'ValidationException' });
    } finally {
      device.close();
    }
  } finally {
    agent.proc.kill('SIGTERM');
    await agent.exited;
  }
}, 90_000);
