// Proves a device app can embed the SDK as a package: `npm pack` makes the
// tarball (prepack builds the bundles and dist/sdk), examples/device-app/ is
// copied into a fresh folder that installs only that tarball, and its
// programs — which import only the public entry points — run against a real
// gateway: the producer with the credentials `tributary-agent pair` stored
// (run as the agent's user, in a sandbox whose /etc, /var/lib, /usr/local, /opt
// and /run are throwaway overlays: test/helpers/sandbox.ts), the agent
// producer through a real agent (the tarball's own `tributary-agent`), and
// the consumer, which must see every record both sent; the camera app sends a
// test picture through VideoProducer.putFfmpeg. The TypeScript variant
// type-checks against the tarball's .d.ts, and a deep import is refused.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { repoRoot } from '../helpers/bundles.ts';
import { createSandbox, type Sandbox } from '../helpers/sandbox.ts';
import { spawnGateway, type SpawnedGateway } from '../helpers/spawn-gateway.ts';
import { waitFor } from '../helpers/wait.ts';

const run = promisify(execFile);
const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { name: string; version: string };

let box: Sandbox;
let app: string;
let gwDir: string;
let gw: SpawnedGateway;
let tarball: string;

/** The tarball's own `tributary` (operator commands), run in the gateway's directory (its ./data/operator.json). */
async function operator(...args: string[]): Promise<any> {
  const { stdout } = await run(process.execPath, [path.join(app, 'node_modules', 'tributary', 'dist', 'tributary.mjs'), ...args], { cwd: gwDir });
  return JSON.parse(stdout);
}

beforeAll(async () => {
  box = createSandbox(['/etc', '/var/lib', '/usr/local', '/opt', '/run']);
  // npm pack as a user runs it: prepack builds dist/ (bundles and SDK) in the repository, then packs what `files` lists.
  const packed = await run('npm', ['pack', '--silent', '--pack-destination', box.dir], { cwd: repoRoot, maxBuffer: 16 << 20 });
  tarball = path.join(box.dir, packed.stdout.trim().split('\n').at(-1)!);
  expect(path.basename(tarball)).toBe(`${pkg.name}-${pkg.version}.tgz`);

  app = path.join(box.dir, 'app');
  fs.cpSync(path.join(repoRoot, 'examples', 'device-app'), app, { recursive: true });
  // Dependencies come from npm's cache when npm ci filled it (the registry otherwise).
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], { cwd: app, maxBuffer: 16 << 20 });
  fs.chmodSync(box.dir, 0o755);

  gwDir = path.join(box.dir, 'gateway');
  fs.mkdirSync(gwDir);
  gw = await spawnGateway([], { cwd: gwDir });

  // The device: the agent's user and state directory, as its installation makes them, the tarball's commands on the PATH.
  const dist = path.join(app, 'node_modules', 'tributary', 'dist');
  const setup = await box.run(`
    useradd --system --home-dir /var/lib/tributary --no-create-home tributary
    install -d -o tributary -g tributary -m 0700 /var/lib/tributary
    ln -sf ${process.execPath} /usr/local/bin/node
    ln -sf ${dist}/tributary-agent.mjs /usr/local/bin/tributary-agent
  `);
  expect(setup, setup.stderr).toMatchObject({ code: 0 });
  const { code, caFingerprint } = await operator('devices', 'pair-code', '--name', 'pi-01');
  const paired = await box.run(`sudo -u tributary tributary-agent pair ${gw.url} ${code} --ca-fingerprint ${caFingerprint}`);
  expect(paired, paired.stderr).toMatchObject({ code: 0 });
  await operator('streams', 'create', 'telemetry-pi-01', '--shards', '2');
}, 600_000);

afterAll(async () => {
  if (gw && gw.child.exitCode === null) {
    gw.child.kill('SIGTERM');
    await gw.exited;
  }
  box?.close();
});

describe('the SDK as a package (npm pack)', () => {
  it('exports the entry points and refuses deep imports of internal modules', async () => {
    const script = `
      for (const e of ['producer', 'consumer', 'agent-producer', 'video-producer', 'pairing', 'protocol']) await import('tributary/' + e);
      const { aggregate, deaggregate } = await import('tributary/protocol');
      const [r] = deaggregate(aggregate([{ partitionKey: 'pi-01', data: Buffer.from('x') }]));
      const deep = await import('tributary/sdk/streams/producer.ts').then(() => 'imported', (e) => e.code);
      console.log(JSON.stringify({ key: r.partitionKey, deep }));`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: app });
    expect(JSON.parse(stdout)).toEqual({ key: 'pi-01', deep: 'ERR_PACKAGE_PATH_NOT_EXPORTED' });
  });

  it('type-checks the TypeScript example against the .d.ts', async () => {
    const tsc = path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = await run(process.execPath, [tsc, '-p', app]).then(() => ({ code: 0, stdout: '' }), (e: { code: number; stdout: string }) => e);
    expect(r.stdout).toBe('');
    expect(r.code).toBe(0);
  }, 120_000);

  it('sends with the producer, as the agent user, with the paired credentials', async () => {
    const r = await box.run('sudo -u tributary node producer.mjs', { cwd: app });
    expect(r, r.stderr).toMatchObject({ code: 0 });
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    // Aggregated: the three share one Kinesis record, told apart by subsequence number.
    for (const [i, line] of lines.entries()) expect(line).toMatch(new RegExp(`^shardId-00000000000[01] \\d{56} ${i}$`));
  }, 120_000);

  it('sends a camera with the video producer (ffmpeg run by putFfmpeg), as the agent user', async () => {
    await operator('video', 'create', 'cam-pi-01', '--retention', '24');
    const r = await box.run('sudo -u tributary node camera.mjs --test-camera', { cwd: app, timeoutMs: 120_000 });
    expect(r, r.stderr).toMatchObject({ code: 0 });
    // 6 s of the test picture, a keyframe every 2 s: three fragments, each acknowledged PERSISTED.
    expect(r.stdout).toMatch(/^3 fragments, the last \d{47}\n$/);
  }, 180_000);

  it('sends through a real agent with the agent producer', async () => {
    const config = [
      'gateway:', '  credentials: /var/lib/tributary/credentials.json',
      'state:', '  dir: /var/lib/tributary',
      'destinations:', '  telemetry:', '    stream: telemetry-${device}',
      'inputs:', '  socket:', '    destination: telemetry',
      'metrics:', '  port: 0',
    ].join('\n');
    const r = await box.run(`
      install -d -o tributary -g tributary -m 0750 /run/tributary
      install -d /etc/tributary && cat > /etc/tributary/agent.yaml <<'YAML'
${config}
YAML
      sudo -u tributary tributary-agent run -c /etc/tributary/agent.yaml > agent.log 2>&1 &
      agent=$!
      for i in $(seq 600); do [ -S /run/tributary/agent.sock ] && break; kill -0 $agent; sleep 0.1; done
      sudo -u tributary node agent-producer.mjs
      # The record is the agent's now; the test sees it arrive through the consumer below.
      for i in $(seq 600); do sudo -u tributary tributary-agent status --state-dir /var/lib/tributary | grep -q '"sent": [1-9]' && break; sleep 0.1; done
      kill $agent; wait $agent || true
    `, { cwd: app, timeoutMs: 180_000 });
    expect(r, `${r.stderr}\n${fs.existsSync(path.join(app, 'agent.log')) ? fs.readFileSync(path.join(app, 'agent.log'), 'utf8').slice(-3000) : ''}`).toMatchObject({ code: 0 });
    expect(r.stdout).toMatch(/^telemetry socket:myapp \d+$/m);
  }, 240_000);

  it('reads every record both sent with the consumer', async () => {
    const created = await operator('credentials', 'create', 'billing', '--policy', 'consumer');
    const child = box.spawn('exec node consumer.mjs telemetry-pi-01', {
      cwd: app,
      env: {
        TRB_ENDPOINT: gw.url, TRB_KEY: created.Principal.AccessKeyId, TRB_SECRET: created.SecretAccessKey,
        TRB_CA: path.join(gwDir, 'data', 'tls', 'ca.crt'),
      },
    });
    let out = '';
    let err = '';
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await waitFor(`4 records from the consumer (got: ${out}; stderr: ${err})`, () => out.trim().split('\n').filter(Boolean).length >= 4, { timeoutMs: 90_000, intervalMs: 100 });
    } finally {
      process.kill(-child.pid!, 'SIGTERM');
    }
    expect(await exited).toBe(0);
    const records = out.trim().split('\n').map((l) => JSON.parse(l) as { device: string; body: string });
    expect(records.map((r) => `${r.device} ${r.body}`).sort()).toEqual([
      'pi-01 {"temp":21.5}', 'pi-01 {"temp":21.6}', 'pi-01 {"temp":21.8}', 'pi-17 {"temp":21.5}',
    ]);
  }, 180_000);
});
