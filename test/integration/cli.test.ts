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
import { tributaryBundle } from '../helpers/bundles.ts';
import { waitFor } from '../helpers/wait.ts';

const exec = promisify(execFile);
const cli = (...args: string[]) => exec(process.execPath, [tributaryBundle(), ...args], { cwd: repoRoot });

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
    expect(() => parseGatewayConfig('nope: {}\n', f)).toThrow('g.yaml:1: unknown key nope; known keys: gateway, tls, storage, streams');
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

describe('tributary security commands', () => {
  it('initialises a data directory: CA, server certificate, operator profile, all private keys 0600', async () => {
    const dir = tempDir('trb-init-');
    const { stdout } = await cli('gateway', 'init', '--data', dir, '--name', 'gateway.example.lan', '--ip', '10.1.2.3', '--port', '4999');
    const out = JSON.parse(stdout) as { caFingerprint: string; operatorProfile: string; operatorAccessKeyId: string };
    expect(out.caFingerprint).toMatch(/^SHA256:([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    for (const f of ['tls/ca.key', 'tls/server.key', 'operator.json', 'keys/master.key']) {
      expect(fs.statSync(path.join(dir, f)).mode & 0o777, f).toBe(0o600);
    }
    const profile = JSON.parse(fs.readFileSync(out.operatorProfile, 'utf8')) as { endpoint: string; accessKeyId: string; caCertificate: string };
    expect(profile.endpoint).toBe('https://127.0.0.1:4999');
    expect(profile.accessKeyId).toBe(out.operatorAccessKeyId);
    const { X509Certificate } = await import('node:crypto');
    const server = new X509Certificate(fs.readFileSync(path.join(dir, 'tls/server.crt')));
    expect(server.subjectAltName).toContain('DNS:gateway.example.lan');
    expect(server.subjectAltName).toContain('IP Address:10.1.2.3');
    // Idempotent: a second init keeps the CA and the operator.
    const again = JSON.parse((await cli('gateway', 'init', '--data', dir)).stdout) as { caFingerprint: string; operatorAccessKeyId: string };
    expect(again.caFingerprint).toBe(out.caFingerprint);
    expect(again.operatorAccessKeyId).toBe('existing');
  });

  it('pairs a device, lists, rotates and revokes it, and manages policies and credentials from the shell', async () => {
    const tlsGw = await testGateway({ tlsEnabled: true });
    try {
      const p = path.join(tempDir('trb-profile-'), 'operator.json');
      const ca = fs.readFileSync(path.join((tlsGw as unknown as { dataDir: string }).dataDir, 'tls', 'ca.crt'), 'utf8');
      fs.writeFileSync(p, JSON.stringify({ endpoint: tlsGw.url, region: 'us-east-1', ...testOperator, caCertificate: ca }), { mode: 0o600 });
      const run = async (...args: string[]) => JSON.parse((await cli(...args, '--profile', p)).stdout);
      const code = await run('devices', 'pair-code', '--name', 'cam-09', '--ttl', '5m');
      expect(code.code).toMatch(/^[A-Z2-9]{5}-[A-Z2-9]{5}$/);
      expect(code.caFingerprint).toBe(tlsGw.caFingerprint);
      const devDir = tempDir('trb-dev-');
      const paired = JSON.parse((await cli('devices', 'pair', tlsGw.url, code.code, '--ca-fingerprint', code.caFingerprint, '--dir', devDir)).stdout);
      expect(paired.paired).toBe('cam-09');
      expect(fs.statSync(path.join(devDir, 'credentials.json')).mode & 0o777).toBe(0o600);
      const listed = await run('devices', 'list');
      expect(listed.Principals.map((x: { Name: string }) => x.Name)).toEqual(['cam-09']);
      const rotated = await run('devices', 'rotate', 'cam-09');
      expect(rotated.SecretAccessKey).toBeTruthy();
      const revoked = await run('devices', 'revoke', 'cam-09');
      expect(revoked.Principal.Status).toBe('REVOKED');

      const policyFile = path.join(devDir, 'writer.json');
      fs.writeFileSync(policyFile, JSON.stringify({ description: 'logs writer', statements: [{ actions: ['kinesis:PutRecord*'], resources: ['stream/logs-*'] }] }));
      expect(await run('policies', 'put', 'logs-writer', policyFile)).toEqual({ put: 'logs-writer' });
      const policies = await run('policies', 'list');
      expect(policies.Policies.map((x: { Name: string }) => x.Name)).toEqual(['admin', 'device', 'reader', 'consumer', 'logs-writer']);
      fs.writeFileSync(policyFile, JSON.stringify({ statements: [{ actions: ['PutRecord'], resources: ['*'] }] }));
      const bad = (await cli('policies', 'put', 'broken', policyFile, '--profile', p).catch((e: unknown) => e)) as { stderr: string };
      expect(bad.stderr).toBe('tributary: InvalidArgumentException: policy broken: statements[0].actions: "PutRecord" is not <service>:<Action>\n');

      const created = await run('credentials', 'create', 'ci-bot', '--policy', 'logs-writer');
      expect(created.Principal.Policy).toBe('logs-writer');
      const creds = await run('credentials', 'list');
      expect(creds.Principals.map((x: { Name: string }) => x.Name).sort()).toEqual(['ci-bot', 'operator']);

      // Everything survives a restart of the gateway on the same data directory.
      const dataDir = (tlsGw as unknown as { dataDir: string }).dataDir;
      await tlsGw.close();
      const again = await testGateway({ tlsEnabled: true, dataDir });
      try {
        expect(again.principals.policy('logs-writer')?.statements[0]!.resources).toEqual(['stream/logs-*']);
        expect(again.principals.find('ci-bot')?.policy).toBe('logs-writer');
        expect(again.principals.lookup(created.Principal.AccessKeyId)?.secret).toBe(created.SecretAccessKey);
      } finally {
        await again.close();
      }
    } finally {
      await tlsGw.close();
    }
  });
});

describe('tributary gateway start as a process', () => {
  it('reloads its certificate on SIGHUP and keeps serving', async () => {
    const { spawnGateway } = await import('../helpers/spawn-gateway.ts');
    const { issueServerCertificate } = await import('../../gateway/tls/certificates.ts');
    const tls = await import('node:tls');
    const dir = tempDir('trb-hup-');
    const gw = await spawnGateway(['--data', dir, '--log-level', 'info']);
    try {
      const url = new URL(gw.url);
      const ca = fs.readFileSync(path.join(dir, 'tls', 'ca.crt'));
      const fingerprint = () =>
        new Promise<string>((resolve, reject) => {
          const s = tls.connect({ host: url.hostname, port: Number(url.port), ca }, () => {
            resolve(s.getPeerCertificate().fingerprint256);
            s.end();
          });
          s.on('error', reject);
        });
      const before = await fingerprint();
      await issueServerCertificate(path.join(dir, 'tls'), ['localhost'], ['127.0.0.1']);
      gw.child.kill('SIGHUP');
      await waitFor('the reload logged', () => gw.logs.some((l) => l.includes('reloaded TLS certificate')));
      expect(await fingerprint()).not.toBe(before);
      gw.child.kill('SIGTERM');
      expect(await gw.exited).toBe(0);
    } finally {
      gw.child.kill('SIGKILL');
    }
  });
});
