// Proves the tributary CLI: --help on every command, config validation that
// names file, line and field, and the admin commands against a real gateway.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, testGateway, testOperator } from '../helpers/gateway.ts';
import { repoRoot } from '../helpers/spawn-gateway.ts';
import type { Gateway } from '../../gateway/gateway.ts';
import { parseGatewayConfig } from '../../gateway/config.ts';

const exec = promisify(execFile);
const cli = (...args: string[]) => exec(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'bin/tributary.ts'), ...args], { cwd: repoRoot });

let gw: Gateway;
let profile: string;
beforeAll(async () => {
  gw = await testGateway({ createDelayMs: 0 });
  profile = path.join(tempDir('trb-profile-'), 'operator.json');
  fs.writeFileSync(profile, JSON.stringify({ endpoint: gw.url, region: 'us-east-1', ...testOperator }), { mode: 0o600 });
});
afterAll(() => gw.close());

describe('tributary CLI', () => {
  it('has --help on every command', async () => {
    for (const cmd of [[], ['gateway'], ['gateway', 'start'], ['gateway', 'check-config'], ['streams'], ['streams', 'create'], ['streams', 'put'], ['streams', 'tail']]) {
      const { stdout } = await cli(...cmd, '--help');
      expect(stdout, cmd.join(' ')).toMatch(/^Usage: tributary/);
    }
  });

  it('validates config files with file, line and field', async () => {
    const dir = tempDir('trb-cfg-');
    const file = path.join(dir, 'gateway.yaml');
    fs.writeFileSync(file, 'gateway:\n  port: 4567\nstorage:\n  fsync: sometimes\n');
    const err = (await cli('gateway', 'check-config', file).catch((e: unknown) => e)) as { stderr: string; code: number };
    expect(err.code).toBe(2);
    expect(err.stderr).toBe(`tributary: ${file}:4: storage.fsync must be always, never or interval:<ms> (got "sometimes")\n`);
    const { stdout } = await cli('gateway', 'check-config', path.join(repoRoot, 'configs/gateway.example.yaml'));
    expect(JSON.parse(stdout).port).toBe(4567);
  });

  it('names unknown and renamed keys, wrong types and ranges', () => {
    const f = 'g.yaml';
    expect(() => parseGatewayConfig('gateway:\n  prot: 1\n', f)).toThrow('g.yaml:2: unknown key gateway.prot; known keys: host, port,');
    expect(() => parseGatewayConfig('gateway:\n  data: /x\n', f)).toThrow('g.yaml:2: unknown key gateway.data; it is now gateway.dataDir');
    expect(() => parseGatewayConfig('streams:\n  shardLimit: "many"\n', f)).toThrow('g.yaml:2: streams.shardLimit must be an integer (got "many")');
    expect(() => parseGatewayConfig('\n\nstorage:\n  segmentBytesMax: 10\n', f)).toThrow('g.yaml:4: storage.segmentBytesMax must be at least 65536 (got 10)');
    expect(() => parseGatewayConfig('nope: {}\n', f)).toThrow('g.yaml:1: unknown section "nope"');
    expect(() => parseGatewayConfig('gateway: [1\n', f)).toThrow(/^g\.yaml:\d+: not valid YAML/);
    const c = parseGatewayConfig('storage:\n  fsync: interval:50\nstreams:\n  enforceLimits: false\n', f);
    expect(c.fsync).toEqual({ kind: 'interval', intervalMs: 50 });
    expect(c.enforceLimits).toBe(false);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('administers streams on a running gateway', async () => {
    const e = ['--profile', profile];
    await cli('streams', 'create', 'admin', '--shards', '3', ...e);
    const listed = JSON.parse((await cli('streams', 'list', ...e)).stdout);
    expect(listed.StreamNames).toEqual(['admin']);
    const put = JSON.parse((await cli('streams', 'put', 'admin', 'hello from the cli', '-k', 'k1', ...e)).stdout);
    expect(put.SequenceNumber).toMatch(/^\d{56}$/);
    const described = JSON.parse((await cli('streams', 'describe', 'admin', ...e)).stdout);
    expect(described.StreamDescriptionSummary.OpenShardCount).toBe(3);
    const err = await cli('streams', 'describe', 'nope', ...e).catch((x: { stderr: string }) => x);
    expect(err.stderr).toBe('tributary: ResourceNotFoundException: Stream nope under account 000000000000 not found.\n');
  });
});
