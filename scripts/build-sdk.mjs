// Builds the SDK's public surface into dist/sdk: one ES module per entry
// (sdk/producer.ts, consumer.ts, agent-producer.ts, video-producer.ts,
// pairing.ts, protocol.ts; package.json `exports` names them), code they share
// split into chunks, dependencies left to node_modules, and the .d.ts types
// (tsc, tsconfig.sdk.json). `--outdir <dir>` builds elsewhere; `--no-types`
// skips the declarations (tsc takes most of the time).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The entry modules, as package.json `exports` lists them (`tributary/<name>`). */
export const sdkEntries = ['producer', 'consumer', 'agent-producer', 'video-producer', 'pairing', 'protocol'];

/** esbuild options for the SDK: also used by the test that checks what the entries pull in. */
export function sdkBuildOptions(outdir) {
  return {
    entryPoints: sdkEntries.map((e) => path.join(root, 'sdk', `${e}.ts`)),
    outdir,
    bundle: true,
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    platform: 'node',
    target: 'node20',
    format: 'esm',
    // Dependencies (tweetnacl, pg) are the installing app's node_modules', as with any library.
    packages: 'external',
    sourcemap: 'linked',
    legalComments: 'none',
    logLevel: 'warning',
  };
}

async function main() {
  const at = process.argv.indexOf('--outdir');
  const outdir = at >= 0 && process.argv[at + 1] ? path.resolve(process.argv[at + 1]) : path.join(root, 'dist', 'sdk');
  fs.rmSync(outdir, { recursive: true, force: true });
  await build(sdkBuildOptions(outdir));
  if (!process.argv.includes('--no-types')) {
    const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.sdk.json'), '--outDir', outdir], { stdio: 'inherit' });
  }
  if (!process.argv.includes('--quiet')) console.log(`built ${path.relative(process.cwd(), outdir) || outdir}: ${sdkEntries.map((e) => `${e}.js`).join(', ')}${process.argv.includes('--no-types') ? '' : ' with .d.ts'}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
