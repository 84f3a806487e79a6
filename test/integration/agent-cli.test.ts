// Proves the tributary-agent command line: config checks with file:line
// errors, pairing against a real HTTPS gateway (credentials stored 0600), and
// the read-only buffer tools on a real on-disk buffer.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { DiskBuffer } from '../../agent/buffer/index.ts';
import { tempDir, testGateway } from '../helpers/gateway.ts';
import { repoRoot } from '../helpers/spawn-gateway.ts';
import { agentBundlePath } from '../helpers/bundles.ts';

const exec = promisify(execFile);
const agent = (...args: string[]) => exec(process.execPath, [agentBundlePath(), ...args], { cwd: repoRoot });

describe('tributary-agent', () => {
  it('checks configs, naming file, line and field', async () => {
    const ok = JSON.parse((await agent('check-config', '-c', path.join(repoRoot, 'configs/agent.example.yaml'))).stdout);
    expect(ok.destinations.telemetry.stream).toBe('telemetry-${device}');
    const file = path.join(tempDir('trb-acfg-'), 'agent.yaml');
    fs.writeFileSync(file, 'gateway:\n  credentials: /x.json\ndestinations:\n  t:\n    stream: s\nbuffer:\n  capBytes: 5\n');
    const err = (await agent('check-config', '-c', file).catch((e: unknown) => e)) as { code: number; stderr: string };
    expect(err.code).toBe(2);
    expect(err.stderr).toBe(`tributary-agent: ${file}:7: buffer.capBytes must be at least 1048576 (got 5)\n`);
  });

  it('pairs with a gateway over pinned HTTPS and stores credentials 0600', async () => {
    const gw = await testGateway({ tlsEnabled: true });
    try {
      const { code } = await gw.principals.createPairingCode('pi-01', 'device', 60_000);
      // Not under /tmp: pair refuses a state directory that does not survive a reboot, as run does.
      const state = fs.mkdtempSync('/var/tmp/trb-astate-');
      const out = JSON.parse((await agent('pair', gw.url, code, '--ca-fingerprint', gw.caFingerprint!, '--state-dir', state)).stdout);
      expect(out.paired).toBe('pi-01');
      expect(fs.statSync(path.join(state, 'credentials.json')).mode & 0o777).toBe(0o600);
      const bad = (await agent('pair', gw.url, code, '--ca-fingerprint', gw.caFingerprint!, '--state-dir', state).catch((e: unknown) => e)) as { stderr: string };
      expect(bad.stderr).toBe('tributary-agent: pairing refused: Invalid or expired pairing code.\n');
    } finally {
      await gw.close();
    }
  });

  it('inspects, verifies and exports a buffer', async () => {
    const root = tempDir('trb-abuf-');
    const buf = await DiskBuffer.openDestination(root, 'telemetry', { fsync: 'always' });
    await buf.append(Array.from({ length: 5 }, (_, i) => ({ source: 'test', partitionKey: `k${i}`, data: Buffer.from(`r${i}`) })));
    await buf.close();
    const inspected = JSON.parse((await agent('buffer', 'inspect', '--dir', root)).stdout);
    expect(inspected.destinations).toHaveLength(1);
    expect(inspected.destinations[0]).toMatchObject({ destination: 'telemetry', depthRecords: 5 });
    const verified = JSON.parse((await agent('buffer', 'verify', '--dir', root)).stdout);
    expect(verified.ok).toBe(true);
    const out = path.join(root, 'export.jsonl');
    const exported = JSON.parse((await agent('buffer', 'export', 'telemetry', out, '--dir', root)).stdout);
    expect(exported.records).toBe(5);
    const lines = fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { partitionKey: string; data: string });
    expect(lines.map((l) => Buffer.from(l.data, 'base64').toString())).toEqual(['r0', 'r1', 'r2', 'r3', 'r4']);
  });
});
