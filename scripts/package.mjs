// Builds the Debian packages: `npm run package -- agent` writes
// dist/tributary-agent_<version>_all.deb, `npm run package -- gateway`
// dist/tributary_<version>_all.deb (`--outdir <dir>` elsewhere). Each holds
// the single-file bundle under /usr/lib/tributary with its command in
// /usr/bin, the systemd unit, the configuration as a conffile under
// /etc/tributary, documentation and examples, and maintainer scripts that make
// the tributary user and /var/lib/tributary (packaging/debian/). Architecture
// all: the bundles are JavaScript for the nodejs package (>= 20); the native
// CRC-32C accelerator is left out (the pure implementation runs instead).
// Needs dpkg-deb (Debian's dpkg).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const debian = path.join(root, 'packaging', 'debian');

/** What goes into each package; paths are relative to the repository. */
const packages = {
  agent: {
    name: 'tributary-agent',
    bundles: ['tributary-agent.mjs'],
    commands: { 'tributary-agent': 'tributary-agent.mjs' },
    unit: 'tributary-agent.service',
    conffiles: { 'etc/tributary/agent.yaml': fs.readFileSync(path.join(debian, 'agent', 'agent.yaml'), 'utf8') },
    examples: { 'agent.example.yaml': 'configs/agent.example.yaml', 'mosquitto-tributary.conf': 'configs/mosquitto/tributary.conf' },
  },
  gateway: {
    name: 'tributary',
    // The offload worker is loaded from beside the main bundle.
    bundles: ['tributary.mjs', 'offload-worker.mjs'],
    // The web console, served at /console/ from beside the main bundle.
    assets: ['console/index.html', 'console/console.js', 'console/console.css', 'console/hls.mjs'],
    commands: { tributary: 'tributary.mjs' },
    unit: 'tributary-gateway.service',
    conffiles: { 'etc/tributary/gateway.yaml': gatewayConfig() },
    examples: { 'gateway.example.yaml': 'configs/gateway.example.yaml' },
  },
};

/** The example gateway configuration with the package's data directory. */
function gatewayConfig() {
  const text = fs.readFileSync(path.join(root, 'configs', 'gateway.example.yaml'), 'utf8');
  const line = /^  dataDir: \.\/data .*$/m;
  if (!line.test(text)) throw new Error('configs/gateway.example.yaml: no "  dataDir: ./data" line to point at /var/lib/tributary');
  return text.replace(line, '  dataDir: /var/lib/tributary   # streams, metadata and keys (the unit passes --data /var/lib/tributary too)');
}

/** The repository's unit, pointed at the package's paths, its install notes replaced by the package's. */
function packagedUnit(name, unit) {
  const text = fs.readFileSync(path.join(root, 'configs', 'systemd', unit), 'utf8');
  const body = text.slice(text.indexOf('[Unit]'));
  if (!body.includes('/opt/tributary/dist/')) throw new Error(`configs/systemd/${unit}: ExecStart no longer names /opt/tributary/dist/`);
  const header = `# Installed by the ${name} Debian package. Change settings with a drop-in\n# (sudo systemctl edit ${unit.replace('.service', '')}), not in this file.\n`;
  return header + body.replaceAll('/opt/tributary/dist/', '/usr/lib/tributary/');
}

/** A maintainer script with the shared shell functions in place of the line that names them. */
function maintainerScript(file) {
  const common = fs.readFileSync(path.join(debian, 'debian-common.sh'), 'utf8');
  return fs.readFileSync(file, 'utf8').replace('. /usr/lib/tributary/debian-common.sh\n', common);
}

/** SOURCE_DATE_EPOCH when set (reproducible builds), else now. */
function buildDate() {
  return process.env.SOURCE_DATE_EPOCH ? new Date(Number(process.env.SOURCE_DATE_EPOCH) * 1000) : new Date();
}

function write(file, text, mode = 0o644) {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
  fs.writeFileSync(file, text, { mode });
  fs.chmodSync(file, mode);
}

function sizeKiB(dir) {
  let bytes = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) bytes += fs.statSync(path.join((e.parentPath ?? e.path), e.name)).size;
  return Math.ceil(bytes / 1024);
}

/** Builds one package into `outdir`; returns the .deb's path. */
export function buildPackage(which, outdir) {
  const p = packages[which];
  if (!p) throw new Error(`unknown package "${which}": agent or gateway`);
  const stage = fs.mkdtempSync(path.join(os.tmpdir(), `trb-deb-${which}-`));
  try {
    fs.chmodSync(stage, 0o755);
    const dist = path.join(stage, 'usr', 'lib', 'tributary');
    execFileSync(process.execPath, [path.join(root, 'scripts', 'build.mjs'), '--outdir', path.join(stage, 'bundles'), '--quiet'], { stdio: 'inherit' });
    for (const b of p.bundles) write(path.join(dist, b), fs.readFileSync(path.join(stage, 'bundles', b)), 0o755);
    for (const a of p.assets ?? []) write(path.join(dist, a), fs.readFileSync(path.join(stage, 'bundles', a)));
    fs.rmSync(path.join(stage, 'bundles'), { recursive: true });
    for (const [command, bundle] of Object.entries(p.commands)) {
      fs.mkdirSync(path.join(stage, 'usr', 'bin'), { recursive: true, mode: 0o755 });
      fs.symlinkSync(`../lib/tributary/${bundle}`, path.join(stage, 'usr', 'bin', command));
    }
    write(path.join(stage, 'usr', 'lib', 'systemd', 'system', p.unit), packagedUnit(p.name, p.unit));
    for (const [file, text] of Object.entries(p.conffiles)) write(path.join(stage, file), text);
    const doc = path.join(stage, 'usr', 'share', 'doc', p.name);
    write(path.join(doc, 'copyright'), `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: tributary\nSource: ${pkg.homepage ?? 'https://github.com/tributary/tributary'}\n\nFiles: *\nCopyright: Tributary contributors\nLicense: ${pkg.license}\n On Debian systems the full text is in /usr/share/common-licenses/${pkg.license}.\n`);
    write(path.join(doc, 'changelog.gz'), zlib.gzipSync(`${p.name} (${pkg.version}) unstable; urgency=medium\n\n  * Built from the repository by npm run package -- ${which}.\n\n -- Tributary maintainers <tributary@localhost>  ${buildDate().toUTCString().replace('GMT', '+0000')}\n`, { level: 9 }));
    for (const [name, from] of Object.entries(p.examples)) write(path.join(doc, 'examples', name), fs.readFileSync(path.join(root, from)));

    const control = path.join(stage, 'DEBIAN');
    fs.mkdirSync(control, { mode: 0o755 });
    const md5 = [];
    for (const e of fs.readdirSync(stage, { withFileTypes: true, recursive: true })) {
      const full = path.join((e.parentPath ?? e.path), e.name);
      if (!e.isFile() || full.startsWith(control + path.sep) || full.startsWith(path.join(stage, 'etc') + path.sep)) continue;
      md5.push(`${createHash('md5').update(fs.readFileSync(full)).digest('hex')}  ${path.relative(stage, full)}`);
    }
    write(path.join(control, 'md5sums'), md5.sort((a, b) => a.slice(34).localeCompare(b.slice(34))).join('\n') + '\n');
    write(path.join(control, 'conffiles'), Object.keys(p.conffiles).map((f) => `/${f}`).join('\n') + '\n');
    const template = fs.readFileSync(path.join(debian, which, 'control'), 'utf8');
    write(path.join(control, 'control'), template.replace('@VERSION@', pkg.version).replace('@INSTALLED_SIZE@', String(sizeKiB(stage))));
    for (const script of ['postinst', 'prerm', 'postrm']) write(path.join(control, script), maintainerScript(path.join(debian, which, script)), 0o755);

    fs.mkdirSync(outdir, { recursive: true });
    const deb = path.join(outdir, `${p.name}_${pkg.version}_all.deb`);
    execFileSync('dpkg-deb', ['--root-owner-group', '-Zxz', '--build', stage, deb], { stdio: ['ignore', 'ignore', 'inherit'] });
    return deb;
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--outdir');
  const outdir = at >= 0 && args[at + 1] ? path.resolve(args[at + 1]) : path.join(root, 'dist');
  const which = args.filter((a, i) => !a.startsWith('--') && (at < 0 || i !== at + 1));
  if (which.length === 0) {
    console.error('usage: npm run package -- agent|gateway [...] [--outdir <dir>]');
    process.exit(2);
  }
  for (const w of which) console.log(`built ${path.relative(process.cwd(), buildPackage(w, outdir))}`);
}
