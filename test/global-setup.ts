/**
 * Runs once before every test file: builds the shipped bundles once for the
 * whole run (test/helpers/bundles.ts) instead of each file compiling the CLI
 * through tsx or esbuild on its own, and removes them afterwards.
 */
import fs from 'node:fs';
import { buildBundles } from './helpers/bundles.ts';

export default function setup(): () => void {
  const dir = buildBundles();
  process.env.TRIBUTARY_TEST_DIST = dir;
  return () => fs.rmSync(dir, { recursive: true, force: true });
}
