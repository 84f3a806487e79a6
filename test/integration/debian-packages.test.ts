// Proves the Debian packages install, run and purge cleanly: `npm run package
// -- agent` and `-- gateway` (the docs' commands) build them; APT installs
// them as docs/agent.md and docs/gateway.md tell, in a sandbox whose /etc,
// /var, /usr, /opt and /run are throwaway overlays on this machine
// (test/helpers/sandbox.ts: the real dpkg, useradd and systemd-analyze, none of
// it reaching the machine); the test checks files, conffiles, the user, modes,
// that the unpaired agent is neither enabled nor started while the gateway
// is, verifies the installed units, runs what the units run as their user —
// the gateway, the pairing block of the docs, the agent until it reports
// running — and purges both, then compares what is left in the overlays
// with the machine: nothing of the packages' may remain but the user.
//
// When this machine's Node.js is not the nodejs Debian package (a tarball,
// nvm, the npm registry's binaries), APT cannot satisfy `Depends: nodejs (>=
// 20)`; then the packages go in with `dpkg -i --force-depends` instead, and
// /usr/bin/node (what the units run) is linked to this Node in the sandbox.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { repoRoot } from '../helpers/bundles.ts';
import { createSandbox, type Sandbox } from '../helpers/sandbox.ts';

const run = promisify(execFile);
const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
const debs = { agent: `tributary-agent_${pkg.version}_all.deb`, gateway: `tributary_${pkg.version}_all.deb` };
const example = (file: string) => fs.readFileSync(path.join(repoRoot, 'examples', file), 'utf8');

/** Whether a link or file is there (the enablement links point into the sandbox, so the machine cannot follow them). */
const present = (p: string) => fs.lstatSync(p, { throwIfNoEntry: false }) !== undefined;

let box: Sandbox;
let work: string;
let nodeIsPackage: boolean;

/** Runs a script in the sandbox and expects it to succeed; returns stdout and stderr together. */
async function sh(script: string, timeoutMs = 120_000): Promise<string> {
  const r = await box.run(script, { cwd: work, timeoutMs });
  expect(r, `${script}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`).toMatchObject({ code: 0 });
  return r.stdout + r.stderr;
}

/** The stat of a path as the sandbox sees it: mode (octal), owner, group. */
async function stat(p: string): Promise<string> {
  return (await sh(`stat -c '%a %U %G' ${p}`)).trim();
}

beforeAll(async () => {
  // As the docs say, from the repository root: the packages land in dist/.
  for (const script of ['agent/package.sh', 'gateway/package.sh']) {
    await run('bash', ['-e', '-c', example(script)], { cwd: repoRoot, maxBuffer: 16 << 20 });
  }
  box = createSandbox(['/etc', '/var', '/usr', '/opt', '/run']);
  work = path.join(box.dir, 'work');
  fs.mkdirSync(work);
  for (const deb of Object.values(debs)) fs.copyFileSync(path.join(repoRoot, 'dist', deb), path.join(work, deb));
  const node = await run('dpkg-query', ['-W', '-f', '${db:Status-Status} ${Version}', 'nodejs']).then((r) => r.stdout, () => '');
  const [status, version] = node.split(' ');
  nodeIsPackage = status === 'installed' && (await run('dpkg', ['--compare-versions', version!, 'ge', '20']).then(() => true, () => false));
}, 600_000);

afterAll(() => box?.close());

describe('Debian packages', () => {
  it('are built with their control fields and conffiles', async () => {
    for (const [which, deb] of Object.entries(debs)) {
      const file = path.join(work, deb);
      const field = async (f: string) => (await run('dpkg-deb', ['-f', file, f])).stdout.trim();
      expect(await field('Package')).toBe(which === 'agent' ? 'tributary-agent' : 'tributary');
      expect(await field('Version')).toBe(pkg.version);
      expect(await field('Architecture')).toBe('all');
      expect(await field('Depends')).toBe('nodejs (>= 20)');
      const conffiles = (await run('dpkg-deb', ['-I', file, 'conffiles'])).stdout.trim();
      expect(conffiles).toBe(which === 'agent' ? '/etc/tributary/agent.yaml' : '/etc/tributary/gateway.yaml');
    }
  }, 60_000);

  it('install as the docs tell (with APT), making the user and its state directory', async () => {
    const install = nodeIsPackage
      ? `${example('agent/install.sh')}\n${example('gateway/install.sh')}`
      : `dpkg -i --force-depends ./${debs.agent} ./${debs.gateway}\n[ -e /usr/bin/node ] || ln -s ${process.execPath} /usr/bin/node`;
    const out = await sh(install, 300_000);
    expect(out).toContain('tributary-agent: not paired yet, so not started');
    expect(await sh('dpkg-query -W -f=\'${db:Status-Status}\\n\' tributary-agent tributary')).toBe('installed\ninstalled\n');

    const user = (await sh('getent passwd tributary')).trim().split(':');
    expect(Number(user[2])).toBeLessThan(1000);
    expect(user.slice(5)).toEqual(['/var/lib/tributary', '/usr/sbin/nologin']);
    expect(await stat('/var/lib/tributary')).toBe('700 tributary tributary');
    expect(await stat('/etc/tributary/agent.yaml')).toBe('644 root root');
    expect(await stat('/etc/tributary/gateway.yaml')).toBe('640 root tributary');
    expect(await stat('/usr/lib/tributary/tributary-agent.mjs')).toBe('755 root root');
    expect(await stat('/usr/lib/tributary/offload-worker.mjs')).toBe('755 root root');
    expect(await stat('/usr/lib/tributary/console/console.js')).toBe('644 root root');
    expect((await sh('tributary-agent --version; tributary --version')).trim()).toBe(`${pkg.version}\n${pkg.version}`);
    const conffiles = await sh('dpkg-query -W -f=\'${Conffiles}\\n\' tributary-agent tributary');
    expect(conffiles).toMatch(/^ \/etc\/tributary\/agent\.yaml [0-9a-f]{32}$/m);
    expect(conffiles).toMatch(/^ \/etc\/tributary\/gateway\.yaml [0-9a-f]{32}$/m);
    // The shipped configurations are valid as installed.
    expect(JSON.parse(await sh('tributary-agent check-config -c /etc/tributary/agent.yaml'))).toMatchObject({ state: { dir: '/var/lib/tributary' } });
    expect(JSON.parse(await sh('tributary gateway check-config /etc/tributary/gateway.yaml'))).toMatchObject({ dataDir: '/var/lib/tributary' });
  }, 400_000);

  it('enable the gateway, but neither enable nor start the unpaired agent', async () => {
    const wants = path.join(box.upper('/etc'), 'systemd', 'system', 'multi-user.target.wants');
    expect(present(path.join(wants, 'tributary-gateway.service'))).toBe(true);
    expect(present(path.join(wants, 'tributary-agent.service'))).toBe(false);
    expect(await sh('ls /var/lib/tributary')).toBe('');
  });

  it('install units that systemd-analyze verify accepts', async () => {
    const out = await sh('systemd-analyze verify /usr/lib/systemd/system/tributary-agent.service /usr/lib/systemd/system/tributary-gateway.service');
    expect(out).toBe('');
    const agentUnit = await sh('cat /usr/lib/systemd/system/tributary-agent.service');
    expect(agentUnit).toMatch(/^ExecStart=\/usr\/bin\/node --max-semi-space-size=1 --v8-pool-size=1 \/usr\/lib\/tributary\/tributary-agent\.mjs run --config \/etc\/tributary\/agent\.yaml$/m);
    expect(agentUnit).toMatch(/^ConditionPathExists=\/var\/lib\/tributary\/credentials\.json$/m);
  });

  it('run what the units run: the gateway, then the agent paired as the docs tell and enabled, which an upgrade keeps', async () => {
    // ExecStart of each unit, as its User=; --port 0 and metrics.port 0 for spare ports on this shared machine.
    const execStart = async (unit: string) => (await sh(`sed -n 's/^ExecStart=//p' /usr/lib/systemd/system/${unit}`)).trim();
    const gatewayCmd = await execStart('tributary-gateway.service');
    const agentCmd = await execStart('tributary-agent.service');
    await sh(`sudo -u tributary ${gatewayCmd} --port 0 > gateway.log 2>&1 &
      echo $! > gateway.pid
      for i in $(seq 600); do grep -q '"gateway listening"' gateway.log && break; sleep 0.1; done
      grep -q '"gateway listening"' gateway.log`);
    const url = (JSON.parse((await sh('grep \'"gateway listening"\' gateway.log')).trim()) as { url: string }).url;
    const issued = JSON.parse(await sh(`${example('security/pair-code.sh').trim()} --profile /var/lib/tributary/operator.json`)) as { code: string; caFingerprint: string };
    let pair = example('security/pair-device.sh');
    for (const [placeholder, value] of [['https://gateway.example.lan:4567', url], ['K7Q2M-X9TPR', issued.code], ['SHA256:9B:9E:...', issued.caFingerprint]] as const) {
      expect(pair).toContain(placeholder);
      pair = pair.replace(placeholder, value);
    }
    expect(JSON.parse(await sh(pair))).toMatchObject({ paired: 'pi-01', credentials: '/var/lib/tributary/credentials.json' });
    // Paired, the admin enables it (the docs' `systemctl enable --now` without --now: no service manager runs here);
    // configuring the package again, as an upgrade does, keeps it enabled.
    const agentWants = path.join(box.upper('/etc'), 'systemd', 'system', 'multi-user.target.wants', 'tributary-agent.service');
    await sh('systemctl enable tributary-agent');
    expect(present(agentWants)).toBe(true);
    await sh('dpkg-reconfigure tributary-agent');
    expect(present(agentWants)).toBe(true);
    // What systemd does for the unit before ExecStart: RuntimeDirectory=tributary (RuntimeDirectoryMode=0750).
    const status = await sh(`sed -i 's/^  port: 9464 /  port: 0    /' /etc/tributary/agent.yaml
      install -d -o tributary -g tributary -m 0750 /run/tributary
      sudo -u tributary ${agentCmd} > agent.log 2>&1 &
      agent=$!
      for i in $(seq 600); do tributary-agent status > status.json 2>/dev/null && break; kill -0 $agent 2>/dev/null || { cat agent.log; kill $(cat gateway.pid); exit 1; }; sleep 0.1; done
      cat status.json
      kill $agent; wait $agent || true
      kill $(cat gateway.pid)`, 180_000);
    expect(status).toMatch(/"running": true/);
  }, 300_000);

  it('purge cleanly: nothing of theirs is left but the user', async () => {
    const out = await sh('dpkg --purge tributary-agent tributary');
    expect(out).not.toMatch(/warning/i);
    expect(await sh('dpkg-query -W -f=\'${db:Status-Status}\\n\' tributary-agent tributary 2>/dev/null || true')).not.toMatch(/installed|config-files/);
    expect(await sh('ls -d /var/lib/tributary /etc/tributary /usr/lib/tributary /usr/bin/tributary /usr/bin/tributary-agent 2>&1 || true')).not.toMatch(/^\//m);
    expect((await sh('getent passwd tributary')).trim()).toMatch(/^tributary:/);
    // What the overlays hold that this machine does not: only the package manager's own records.
    const bookkeeping = /^\/(var\/(log|cache|lib\/(dpkg|apt|ucf|systemd\/deb-systemd-helper-(enabled|masked)))|etc\/(passwd|group|shadow|gshadow)-?$|etc\/\.pwd\.lock$|etc\/systemd\/system\/multi-user\.target\.wants$)/;
    const left: string[] = [];
    for (const overlaid of ['/etc', '/var', '/usr', '/opt']) {
      // (/run is left out: the test made /run/tributary itself, as systemd would.)
      const upper = box.upper(overlaid);
      for (const e of fs.readdirSync(upper, { recursive: true, withFileTypes: true })) {
        const inside = path.join(overlaid, path.relative(upper, path.join(e.parentPath, e.name)));
        const onMachine = present(inside);
        if (inside.includes('tributary') || (!onMachine && !bookkeeping.test(inside))) left.push(inside);
      }
    }
    expect(left).toEqual([]);
  }, 120_000);
});
