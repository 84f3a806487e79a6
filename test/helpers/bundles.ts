/**
 * The shipped single-file bundles (`scripts/build.mjs`: tributary.mjs,
 * tributary-agent.mjs and the offload worker beside them), which tests run as
 * child processes: the code users run, and a start in a fraction of tsx's
 * time. test/global-setup.ts builds them once per test run and passes the
 * directory in TRIBUTARY_TEST_DIST; outside vitest (a benchmark importing a
 * helper) they are built once per process on first use.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const repoRoot = path.resolve(import.meta.dirname, '../..');

/** Builds the bundles into a fresh directory under node_modules/.cache (so the external @node-rs/crc32 still resolves). */
export function buildBundles(): string {
  const cache = path.join(repoRoot, 'node_modules', '.cache');
  fs.mkdirSync(cache, { recursive: true });
  const dir = fs.mkdtempSync(path.join(cache, 'trb-test-dist-'));
  execFileSync(process.execPath, [path.join(repoRoot, 'scripts/build.mjs'), '--outdir', dir, '--quiet'], { stdio: 'inherit' });
  return dir;
}

let built: string | undefined;

function distDir(): string {
  const dir = process.env.TRIBUTARY_TEST_DIST;
  if (dir && fs.existsSync(path.join(dir, 'tributary.mjs'))) return dir;
  built ??= buildBundles();
  return built;
}

/** `tributary` as shipped: run it as `node <path> ...`. */
export function tributaryBundle(): string {
  return path.join(distDir(), 'tributary.mjs');
}

/** `tributary-agent` as shipped. */
export function agentBundlePath(): string {
  return path.join(distDir(), 'tributary-agent.mjs');
}
