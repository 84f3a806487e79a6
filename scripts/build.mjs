// Builds single-file bundles with esbuild: the gateway CLI, the agent and the
// gateway's offload worker. Each runs with plain Node 20 and no node_modules.
// `--outdir <dir>` builds elsewhere than dist/ (the tests build their own copy).
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const at = process.argv.indexOf('--outdir');
const outdir = at >= 0 && process.argv[at + 1] ? path.resolve(process.argv[at + 1]) : path.join(root, 'dist');
const quiet = process.argv.includes('--quiet');

const entries = [
  { in: 'bin/tributary.ts', out: 'tributary.mjs' },
  // The agent's source stays in its heap as long as it runs (V8 keeps it for lazy compilation): without whitespace
  // and with simpler syntax it takes 0.9 MB less on a device with 512 MB for everything (issue #15). Names are
  // kept, so a stack trace in the journal still reads; the source map gives lines.
  { in: 'bin/tributary-agent.ts', out: 'tributary-agent.mjs', compact: true },
  // Loaded by the gateway as a worker thread, from beside the main bundle.
  { in: 'gateway/http/offload-worker.ts', out: 'offload-worker.mjs' },
].map((e) => ({ in: path.join(root, e.in), out: path.join(outdir, e.out), compact: e.compact === true }));
/**
 * Writes every character above U+00FF as a \u escape. esbuild already
 * escapes them in strings, templates, regular expressions and names (its
 * ASCII charset), so the ones left are in comments kept from the sources;
 * one of them is enough for V8 to hold the whole script source, which it
 * keeps for lazy compilation, as two bytes per character (5.8 MB more heap
 * for the gateway bundle). An escape means the same in a comment and in a
 * regular expression.
 */
function latin1Only(file) {
  const text = fs.readFileSync(file, 'utf8');
  const out = text.replace(/[^\u0000-\u00ff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (out !== text) fs.writeFileSync(file, out);
}

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
    ...(e.compact ? { minifyWhitespace: true, minifySyntax: true } : {}),
    // Some dependencies are CommonJS and call require(): give the ESM bundle one.
    banner: { js: "import { createRequire as __trbCreateRequire } from 'node:module'; const require = __trbCreateRequire(import.meta.url);" },
    // Native accelerators stay outside the bundle: loaded from node_modules when present, pure fallbacks otherwise.
    external: ['@node-rs/crc32'],
    logLevel: 'warning',
  });
  latin1Only(e.out);
  fs.chmodSync(e.out, 0o755);
  const kib = (fs.statSync(e.out).size / 1024).toFixed(0);
  if (!quiet) console.log(`built ${path.relative(process.cwd(), e.out) || e.out} (${kib} KiB)`);
}

// The web console (console/src): a browser bundle served by the gateway at /console/ from dist/console.
// sdk/protocol/sigv4.ts is bundled as is: node:crypto becomes @noble/hashes, Buffer the `buffer` package.
{
  const out = path.join(outdir, 'console');
  fs.mkdirSync(out, { recursive: true });
  const src = path.join(root, 'console/src');
  await build({
    entryPoints: [path.join(src, 'main.ts')],
    outfile: path.join(out, 'console.js'),
    bundle: true,
    platform: 'browser',
    target: ['chrome110', 'firefox110', 'safari16'],
    format: 'esm',
    minify: true,
    sourcemap: 'linked',
    legalComments: 'none',
    alias: { 'node:crypto': path.join(src, 'node-crypto.ts') },
    inject: [path.join(src, 'buffer-global.ts')],
    logLevel: 'warning',
  });
  for (const f of ['index.html', 'console.css']) fs.copyFileSync(path.join(src, f), path.join(out, f));
  // hls.js (light build: no subtitles, alternate audio or DRM), loaded by the Video view on its first Play;
  // its source-map comment goes, since the map is not shipped.
  const hlsEsm = path.join(path.dirname(createRequire(import.meta.url).resolve('hls.js/package.json')), 'dist', 'hls.light.min.mjs');
  fs.writeFileSync(path.join(out, 'hls.mjs'), fs.readFileSync(hlsEsm, 'utf8').replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n'));
  if (!quiet) {
    const { gzipSync } = await import('node:zlib');
    const js = fs.readFileSync(path.join(out, 'console.js'));
    const hls = fs.readFileSync(path.join(out, 'hls.mjs'));
    console.log(`built ${path.relative(process.cwd(), out) || out}/console.js (${(js.length / 1024).toFixed(0)} KiB, ${(gzipSync(js, { level: 9 }).length / 1024).toFixed(1)} KiB gzipped; budget 250) and hls.mjs (${(gzipSync(hls, { level: 9 }).length / 1024).toFixed(1)} KiB gzipped, loaded on the first Play)`);
  }
}
