// Builds single-file bundles with esbuild: the gateway CLI, the agent and the
// gateway's offload worker. Each runs with plain Node 20 and no node_modules.
// `--outdir <dir>` builds elsewhere than dist/ (the tests build their own copy).
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const at = process.argv.indexOf('--outdir');
const outdir = at >= 0 && process.argv[at + 1] ? path.resolve(process.argv[at + 1]) : path.join(root, 'dist');
const quiet = process.argv.includes('--quiet');

const entries = [
  { in: 'bin/tributary.ts', out: 'tributary.mjs' },
  { in: 'bin/tributary-agent.ts', out: 'tributary-agent.mjs' },
  // Loaded by the gateway as a worker thread, from beside the main bundle.
  { in: 'gateway/http/offload-worker.ts', out: 'offload-worker.mjs' },
].map((e) => ({ in: path.join(root, e.in), out: path.join(outdir, e.out) }));
for (const e of entries) {
  await build({
    entryPoints: [e.in],
    outfile: e.out,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    sourcemap: 'linked',
    legalComments: 'none',
    // Some dependencies are CommonJS and call require(): give the ESM bundle one.
    banner: { js: "import { createRequire as __trbCreateRequire } from 'node:module'; const require = __trbCreateRequire(import.meta.url);" },
    // Native accelerators stay outside the bundle: loaded from node_modules when present, pure fallbacks otherwise.
    external: ['@node-rs/crc32'],
    logLevel: 'warning',
  });
  fs.chmodSync(e.out, 0o755);
  const kib = (fs.statSync(e.out).size / 1024).toFixed(0);
  if (!quiet) console.log(`built ${path.relative(process.cwd(), e.out) || e.out} (${kib} KiB)`);
}
