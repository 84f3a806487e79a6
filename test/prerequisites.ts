/**
 * What the whole suite needs from the machine, as .ci/run installs it: each
 * program a test starts and the Debian package that has it. Checked once
 * before the run (global-setup.ts), so that a fresh machine gets one message
 * naming the packages to install instead of dozens of failing files.
 */
import fs from 'node:fs';
import path from 'node:path';

/** [program (a path, or a name looked up on PATH), Debian package]; keep in step with .ci/run. */
const needed: Array<[string, string]> = [
  ['/usr/bin/aws', 'awscli'],
  ['gcc', 'gcc'],
  ['systemd-analyze', 'systemd'],
  ['/usr/sbin/mosquitto', 'mosquitto'],
  ['/usr/sbin/nats-server', 'nats-server'],
  ['/lib/systemd/systemd-journal-remote', 'systemd-journal-remote'],
  ['socat', 'socat'],
  ['ip', 'iproute2'],
  ['mkfs.ext4', 'e2fsprogs'],
  ['losetup', 'mount'],
  ['ffmpeg', 'ffmpeg'],
  ['ffprobe', 'ffmpeg'],
  ['/usr/bin/chromium', 'chromium'],
  ['zbarimg', 'zbar-tools'],
  ['unzip', 'unzip'],
  ['gunzip', 'gzip'],
  ['python3', 'python3'],
  ['jq', 'jq'],
  ['runuser', 'util-linux'],
  ['unshare', 'util-linux'],
  ['sudo', 'sudo'],
  ['deb-systemd-helper', 'init-system-helpers'],
  ['dpkg-reconfigure', 'debconf'],
];

function found(program: string): boolean {
  const candidates = program.includes('/') ? [program] : (process.env.PATH ?? '').split(':').filter(Boolean).map((d) => path.join(d, program));
  return candidates.some((f) => {
    try {
      fs.accessSync(f, fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function postgresFound(): boolean {
  try {
    return fs.readdirSync('/usr/lib/postgresql').some((v) => found(`/usr/lib/postgresql/${v}/bin/initdb`));
  } catch {
    return false;
  }
}

/** The Debian packages missing on this machine, each once, and the programs that showed it. */
export function missingPackages(): Array<{ pkg: string; programs: string[] }> {
  const missing = new Map<string, string[]>();
  for (const [program, pkg] of needed) if (!found(program)) missing.set(pkg, [...(missing.get(pkg) ?? []), program]);
  if (!postgresFound()) missing.set('postgresql', ['/usr/lib/postgresql/*/bin/initdb']);
  return [...missing].map(([pkg, programs]) => ({ pkg, programs }));
}

/** One message for all of them, with the command that installs them. */
export function prerequisitesMessage(missing: Array<{ pkg: string; programs: string[] }>): string {
  const pkgs = missing.map((m) => m.pkg);
  return [
    `the tests need programs this machine does not have: ${missing.map((m) => `${m.programs.join(', ')} (package ${m.pkg})`).join('; ')}.`,
    `Install them with: sudo apt-get update && sudo apt-get install -y --no-install-recommends ${pkgs.join(' ')}`,
    `(or run "sudo bash .ci/run", which installs them and then runs npm test, as CI does).`,
  ].join('\n');
}
