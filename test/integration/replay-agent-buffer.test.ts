// Proves that a device's buffer replays byte for byte: the real agent (its bundle, as devices run
// it), paired with a real HTTPS gateway but cut off from it, buffers records from its HTTP input,
// plain and sealed (buffer.encrypt); its state directory is copied off "the device" and `tributary
// replay` reads the copy directly (the sealed one with the device's buffer key, found beside the
// buffer or given with --buffer-key; refused without it) into a stream on the gateway; and the
// agent's own `buffer export` file replays the same. Into a file with --format agent, the capture
// times are kept and the lines equal the agent's own export.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../gateway/gateway.ts';
import { agentBundle, freePort, pairedState, startAgent, tlsClient, waitFor } from '../helpers/agent-process.ts';
import { createActiveStream, tempDir, testGateway, testOperator } from '../helpers/gateway.ts';
import { byKey, cli, cliBundle, readAll } from '../helpers/replay.ts';

let gw: Gateway & { dataDir: string };
let c: KinesisClient;
let profile: string;

beforeAll(async () => {
  gw = await testGateway({ tlsEnabled: true, enforceLimits: false });
  c = tlsClient(gw);
  profile = path.join(tempDir('trb-profile-'), 'operator.json');
  fs.writeFileSync(profile, JSON.stringify({ endpoint: gw.url, region: 'us-east-1', ...testOperator, caCertificate: fs.readFileSync(path.join(gw.dataDir, 'tls', 'ca.crt'), 'utf8') }));
  await Promise.all([cliBundle(), agentBundle()]);
});
afterAll(async () => {
  c?.destroy();
  await gw?.close();
});

/** Runs the real agent with the gateway unreachable, feeds it `records` over HTTP, stops it; returns a copy of its state directory. */
async function bufferOffline(device: string, encrypt: boolean, records: Array<{ key: string; data: string }>): Promise<string> {
  const state = await pairedState(gw, device);
  const port = await freePort();
  const dead = await freePort(); // Nothing listens here: the link is down for the whole run.
  const config = path.join(state, 'agent.yaml');
  fs.writeFileSync(config, [
    'gateway:', `  credentials: ${path.join(state, 'credentials.json')}`, `  endpoint: https://127.0.0.1:${dead}`,
    'state:', `  dir: ${state}`,
    'buffer:', '  fsync: always', `  encrypt: ${encrypt}`,
    'destinations:', '  main:', `    stream: telemetry-${device}`,
    'inputs:', '  http:', '    enabled: true', `    port: ${port}`, '    destination: main',
    'metrics:', '  port: 0',
  ].join('\n') + '\n');
  const agent = await startAgent(config);
  try {
    await waitFor('the agent HTTP input', async () => fetch(`http://127.0.0.1:${port}/`).then(() => true, () => false), 20_000, agent.log);
    const keys = [...new Set(records.map((r) => r.key))];
    for (const key of keys) {
      const res = await fetch(`http://127.0.0.1:${port}/v1/records?partitionKey=${key}`, {
        method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: records.filter((r) => r.key === key).map((r) => r.data).join('\n') + '\n',
      });
      expect(res.status, await res.text()).toBe(200); // 200: durable in the buffer.
    }
  } finally {
    // Power off, as a device in the field: what got a 200 is durable.
    agent.proc.kill('SIGKILL');
    await agent.exited;
  }
  const copy = tempDir(`trb-sdcard-${device}-`);
  fs.cpSync(state, copy, { recursive: true });
  return copy;
}

const records = (tag: string) => Array.from({ length: 240 }, (_, i) => ({ key: `sensor-${i % 6}`, data: JSON.stringify({ tag, i, v: 'µ'.repeat(i % 4) }) }));
const asBuffers = (rs: Array<{ key: string; data: string }>) => rs.map((r) => ({ key: r.key, data: Buffer.from(r.data) }));

async function replay(args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await cli(['replay', ...args, '--checkpoint', path.join(tempDir('trb-rab-'), 'cp.json'), '--progress', 'none', '--profile', profile]);
  return JSON.parse(stdout.trim()).replay;
}

describe('replay of agent buffers', () => {
  it('a plain buffer, read straight from the copied state directory, and the agent\'s own export file', async () => {
    const sent = records('plain');
    const card = await bufferOffline('plain-dev', false, sent);
    await createActiveStream(c, 'from-card', 2);
    expect(await replay([`agent-buffer:${card}`, '--into', 'stream:from-card'])).toMatchObject({ finished: true, sent: 240, rejected: 0 });
    expect(byKey(await readAll(c, 'from-card'))).toEqual(byKey(asBuffers(sent)));

    const exported = path.join(card, 'export.jsonl');
    await promisify(execFile)(process.execPath, [await agentBundle(), 'buffer', 'export', 'main', exported, '--dir', path.join(card, 'buffer')]);
    await createActiveStream(c, 'from-export', 1);
    expect(await replay([exported, '--into', 'stream:from-export'])).toMatchObject({ finished: true, sent: 240 });
    expect(byKey(await readAll(c, 'from-export'))).toEqual(byKey(asBuffers(sent)));

    // Conversion keeps the capture time, source and sequence number: the same lines the agent exports.
    const converted = path.join(card, 'converted.jsonl');
    await replay([path.join(card, 'buffer'), '--into', `file:${converted}`, '--format', 'agent']);
    expect(fs.readFileSync(converted, 'utf8')).toBe(fs.readFileSync(exported, 'utf8'));
  });

  it('a sealed buffer opens with the device key beside it, or with --buffer-key; not without', async () => {
    const sent = records('sealed');
    const card = await bufferOffline('sealed-dev', true, sent);
    const segments = fs.readdirSync(path.join(card, 'buffer', 'main')).filter((n) => n.endsWith('.seg'));
    expect(fs.readFileSync(path.join(card, 'buffer', 'main', segments[0]!)).includes(Buffer.from('sealed'))).toBe(false);
    await createActiveStream(c, 'from-sealed', 2);
    expect(await replay([card, '--into', 'stream:from-sealed'])).toMatchObject({ finished: true, sent: 240 });
    expect(byKey(await readAll(c, 'from-sealed'))).toEqual(byKey(asBuffers(sent)));

    const bufferOnly = path.join(card, 'buffer');
    const refused = (await replay([`agent-buffer:${bufferOnly}`, '--into', 'stream:from-sealed']).catch((e: unknown) => e)) as { stderr: string };
    expect(refused.stderr).toContain('the buffer is sealed: pass --buffer-key');
    await createActiveStream(c, 'from-sealed-key', 1);
    expect(await replay([`agent-buffer:${bufferOnly}`, '--buffer-key', path.join(card, 'keys', 'buffer.key'), '--into', 'stream:from-sealed-key'])).toMatchObject({ finished: true, sent: 240 });
    expect(byKey(await readAll(c, 'from-sealed-key'))).toEqual(byKey(asBuffers(sent)));
  });
});
