// Proves the docs' examples run as shown. Every block of README.md and
// docs/*.md marked <!-- example: examples/... --> is a file under examples/
// (test/unit/doc-examples.test.ts checks that block and file are equal); this
// runs those files against real gateways (the shipped bundle, started as
// `npm start` does but on a spare port) with the real AWS CLI v2 and the
// `tributary` and `tributary-agent` commands on the PATH, as `npm link` puts
// them. Commands that need root's system directories (`sudo -u tributary`,
// /var/lib/tributary) run in a sandbox whose /etc, /var/lib, /usr/local and
// /opt are throwaway overlays (test/helpers/sandbox.ts), so they run verbatim
// without touching the machine. The only edits: placeholders a reader
// replaces with what an earlier step printed (a pairing code, a CA
// fingerprint, the gateway's address), each checked to be in the example.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { agentBundlePath, repoRoot, tributaryBundle } from '../helpers/bundles.ts';
import { createSandbox, type Sandbox } from '../helpers/sandbox.ts';
import { spawnGateway, type SpawnedGateway } from '../helpers/spawn-gateway.ts';
import { waitFor } from '../helpers/wait.ts';
import { probe } from '../helpers/video-fragments.ts';

const example = (file: string) => fs.readFileSync(path.join(repoRoot, 'examples', file), 'utf8');

/** An example's text with its placeholders replaced; a placeholder the example no longer has fails the test. */
function withValues(file: string, values: Record<string, string> = {}): string {
  let text = example(file);
  for (const [placeholder, value] of Object.entries(values)) {
    expect(text, `${file} shows ${placeholder}`).toContain(placeholder);
    text = text.split(placeholder).join(value);
  }
  return text;
}

/**
 * A sandbox with the commands installed as `npm link` installs them (the
 * bundles under /usr/local, `node` this test's Node) and the AWS CLI v2 first
 * on the PATH (a v1 may come first on a developer's).
 */
async function sandboxWithCommands(): Promise<Sandbox> {
  const box = createSandbox(['/etc', '/var/lib', '/usr/local', '/opt']);
  const dist = path.dirname(tributaryBundle());
  const install = await box.run(`
    install -d /usr/local/lib/tributary /usr/local/bin
    for f in tributary.mjs tributary-agent.mjs offload-worker.mjs; do install -m 0755 ${dist}/$f /usr/local/lib/tributary/; done
    ln -sf /usr/local/lib/tributary/tributary.mjs /usr/local/bin/tributary
    ln -sf /usr/local/lib/tributary/tributary-agent.mjs /usr/local/bin/tributary-agent
    ln -sf ${process.execPath} /usr/local/bin/node
    ln -sf /usr/bin/aws /usr/local/bin/aws
  `);
  expect(install, install.stderr).toMatchObject({ code: 0 });
  expect(path.basename(agentBundlePath())).toBe('tributary-agent.mjs');
  return box;
}

/** A directory like a fresh clone's root (examples/ and configs/ as in the repository), with a gateway running on ./data. */
async function workDir(box: Sandbox, name: string): Promise<{ dir: string; gw: SpawnedGateway }> {
  const dir = path.join(box.dir, name);
  fs.mkdirSync(dir);
  fs.symlinkSync(path.join(repoRoot, 'examples'), path.join(dir, 'examples'));
  fs.symlinkSync(path.join(repoRoot, 'configs'), path.join(dir, 'configs'));
  const gw = await spawnGateway([], { cwd: dir });
  return { dir, gw };
}

async function stopGateway(gw: SpawnedGateway | undefined): Promise<void> {
  if (!gw || gw.child.exitCode !== null) return;
  gw.child.kill('SIGTERM');
  await gw.exited;
}

/** Runs a script that follows output until Ctrl-C (a `tail`): waits for `expected` on stdout, then interrupts it. */
async function runUntil(box: Sandbox, script: string, cwd: string, expected: RegExp): Promise<string> {
  const child = box.spawn(script, { cwd });
  let out = '';
  let err = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  try {
    await waitFor(`${expected} from the example (stdout so far: ${out}; stderr: ${err})`, () => {
      if (child.exitCode !== null) throw new Error(`the example exited ${child.exitCode}: ${out}\n${err}`);
      return expected.test(out);
    }, { timeoutMs: 90_000, intervalMs: 100 });
  } finally {
    await box.stop(child);
  }
  return out;
}

describe('README quick start', () => {
  let box: Sandbox;
  let work: { dir: string; gw: SpawnedGateway };

  beforeAll(async () => {
    box = await sandboxWithCommands();
    work = await workDir(box, 'readme');
  }, 120_000);
  afterAll(async () => {
    await stopGateway(work?.gw);
    box?.close();
  });

  it('finds the AWS CLI v2 first on the PATH', async () => {
    const r = await box.run('aws --version');
    expect(r.stdout + r.stderr).toMatch(/^aws-cli\/2\./);
  });

  it('runs the AWS CLI block and the Firehose block after it', async () => {
    const r = await box.run(`${example('readme/aws-cli.sh')}\n${example('readme/firehose.sh')}`, { cwd: work.dir });
    expect(r, r.stderr).toMatchObject({ code: 0 });
    // get-records returns the record put, as the CLI v2 prints it.
    expect(r.stdout).toContain(`"Data": "${Buffer.from('{"temp":21.5}').toString('base64')}"`);
    expect(r.stdout).toContain('"PartitionKey": "dev-1"');
    expect(r.stdout).toContain('"DeliveryStreamARN": "arn:aws:firehose:us-east-1:000000000000:deliverystream/clicks"');
    expect(r.stdout).toMatch(/"RecordId": "[0-9a-f]+"/);
  }, 180_000);

  it('runs the SDK example with the command the README gives, twice', async () => {
    const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    const command = 'NODE_EXTRA_CA_CERTS=data/tls/ca.crt node examples/readme/kinesis-sdk.mjs';
    expect(readme).toContain(`\`${command}\``);
    for (let run = 0; run < 2; run++) {
      const r = await box.run(command, { cwd: work.dir });
      expect(r, r.stderr).toMatchObject({ code: 0, stdout: '{"temp":21.5}\n' });
    }
  }, 120_000);

  it('runs the bundled CLI block until the tail prints the record', async () => {
    const out = await runUntil(box, example('readme/cli.sh'), work.dir, /"data":\{"temp":21\.5\}/);
    expect(out).toContain('"created": "events"');
    const line = out.split('\n').find((l) => l.includes('"data":{"temp":21.5}'))!;
    expect(JSON.parse(line)).toMatchObject({ partitionKey: 'dev-1', data: { temp: 21.5 } });
  }, 120_000);
});

describe('docs/security.md, docs/agent.md, docs/gateway.md, docs/analytics.md, docs/video.md', () => {
  let box: Sandbox;
  let work: { dir: string; gw: SpawnedGateway };

  beforeAll(async () => {
    box = await sandboxWithCommands();
    work = await workDir(box, 'ops');
  }, 120_000);
  afterAll(async () => {
    await stopGateway(work?.gw);
    box?.close();
  });

  it('pairs a device the one way the docs tell: pair-code on the gateway, tributary-agent pair as the agent user', async () => {
    const code = await box.run(example('security/pair-code.sh'), { cwd: work.dir });
    expect(code, code.stderr).toMatchObject({ code: 0 });
    const issued = JSON.parse(code.stdout) as { code: string; caFingerprint: string; device: string };
    expect(issued.device).toBe('pi-01');
    // What the agent's installation makes (docs/agent.md): the user and its state directory.
    const prepared = await box.run('useradd --system --home-dir /var/lib/tributary --no-create-home tributary && install -d -o tributary -g tributary -m 0700 /var/lib/tributary');
    expect(prepared, prepared.stderr).toMatchObject({ code: 0 });
    const script = withValues('security/pair-device.sh', {
      'https://gateway.example.lan:4567': work.gw.url,
      'K7Q2M-X9TPR': issued.code,
      'SHA256:9B:9E:...': issued.caFingerprint,
    });
    const paired = await box.run(script, { cwd: work.dir });
    expect(paired, paired.stderr).toMatchObject({ code: 0 });
    expect(JSON.parse(paired.stdout)).toMatchObject({ paired: 'pi-01', credentials: '/var/lib/tributary/credentials.json' });
    const file = path.join(box.upper('/var/lib'), 'tributary', 'credentials.json');
    const st = fs.statSync(file);
    expect(st.mode & 0o777).toBe(0o600);
    const uid = await box.run('id -u tributary');
    expect(st.uid).toBe(Number(uid.stdout.trim()));
  }, 120_000);

  it('runs gateway init on /var/lib/tributary (security.md)', async () => {
    const other = await sandboxWithCommands();
    try {
      const r = await other.run(example('security/gateway-init.sh'));
      expect(r, r.stderr).toMatchObject({ code: 0 });
      expect(r.stdout + r.stderr).toMatch(/SHA256(:[0-9A-F]{2}){32}/);
      expect(fs.existsSync(path.join(other.upper('/var/lib'), 'tributary', 'tls', 'ca.crt'))).toBe(true);
      expect(fs.existsSync(path.join(other.upper('/var/lib'), 'tributary', 'operator.json'))).toBe(true);
    } finally {
      other.close();
    }
  }, 120_000);

  it('lists streams with the AWS CLI and the operator profile (security.md)', async () => {
    const r = await box.run(example('security/aws-cli.sh'), { cwd: work.dir });
    expect(r, r.stderr).toMatchObject({ code: 0 });
    expect(JSON.parse(r.stdout)).toMatchObject({ StreamNames: expect.any(Array) });
  }, 120_000);

  it('checks the example gateway configuration (gateway.md)', async () => {
    const r = await box.run(example('gateway/check-config.sh'), { cwd: work.dir });
    expect(r, r.stderr).toMatchObject({ code: 0 });
    expect(JSON.parse(r.stdout)).toMatchObject({ port: 4567 });
  });

  it('runs the analytics quick start until the application writes the hot reading (analytics.md)', async () => {
    const out = await runUntil(box, example('analytics/heat.sh'), work.dir, /"data":\{"device":"pi-01","temperature":35\.5\}/);
    expect(out).toContain('"ApplicationName": "heat"');
  }, 120_000);

  it('sends a test camera from ffmpeg and plays it back: HLS, a clip, images (video.md)', async () => {
    const put = await box.run(example('video/ingest.sh'), { cwd: work.dir });
    expect(put, put.stderr).toMatchObject({ code: 0 });
    // The create's answer, then put's summary: 10 s in 2 s fragments.
    expect(put.stdout).toContain('"StreamARN"');
    expect(JSON.parse(put.stdout.slice(put.stdout.lastIndexOf('\n{\n')))).toMatchObject({ stream: 'cam-yard', fragments: 5, reconnects: 0 });
    const play = await box.run(example('video/playback.sh'), { cwd: work.dir });
    expect(play, play.stderr).toMatchObject({ code: 0 });
    expect(play.stdout).toContain('h264,1280,720\n');
    // The clip holds every frame; by arrival time, a camera that sent slower than real time leaves gaps that lengthen it.
    expect(Number(/^(\d+\.\d+)$/m.exec(play.stdout)![1])).toBeGreaterThanOrEqual(9.9);
    expect(probe(path.join(work.dir, 'yard.mp4'))).toMatchObject({ codec: 'h264', width: 1280, height: 720, frames: 300 });
    const images = JSON.parse(play.stdout.slice(play.stdout.lastIndexOf('\n{\n'))) as { saved: number };
    // One image per 2 s the camera covered (its 10 s, as it arrived), NO_MEDIA for the rest of the minute.
    expect(images.saved).toBeGreaterThanOrEqual(4);
    expect(fs.readdirSync(path.join(work.dir, 'frames')).length).toBe(images.saved);
  }, 180_000);

  it('creates, lists, describes and deletes a video stream (video.md)', async () => {
    const r = await box.run(example('video/streams.sh'), { cwd: work.dir });
    expect(r, r.stderr).toMatchObject({ code: 0 });
    expect(r.stdout).toContain('"StreamName": "cam-front"');
    expect(r.stdout).toContain('"deleted": "cam-front"');
  }, 120_000);
});
