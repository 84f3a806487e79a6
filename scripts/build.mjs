// Builds single-file bundles under dist/ with esbuild: the gateway CLI now,
// the agent when it lands. Each runs with plain Node 20 and no node_modules.
import { build } from 'esbuild';
import fs from 'node:fs';

const entries = [
  { in: 'bin/tributary.ts', out: 'dist/tributary.mjs' },
  { in: 'bin/tributary-agent.ts', out: 'dist/tributary-agent.mjs' },
  // Loaded by the gateway as a worker thread, from beside the main bundle.
  { in: 'gateway/http/offload-worker.ts', out: 'dist/offload-worker.mjs' },
];
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
  console.log(`built ${e.out} (${kib} KiB)`);
}
