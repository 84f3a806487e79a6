/**
 * Runs once before every test file: checks that the machine has the programs
 * the tests start (prerequisites.ts; `npm test` stops with one message naming
 * the packages to install, a run of single files only warns), then builds the
 * shipped bundles once for the whole run (test/helpers/bundles.ts) instead of
 * each file compiling the CLI through tsx or esbuild on its own, and removes
 * them afterwards.
 */
import fs from 'node:fs';
import { buildBundles } from './helpers/bundles.ts';
import { missingPackages, prerequisitesMessage } from './prerequisites.ts';

export default function setup(): () => void {
  const missing = missingPackages();
  if (missing.length > 0) {
    const message = prerequisitesMessage(missing);
    if (process.env.TRIBUTARY_TEST_PREREQUISITES === 'require') throw new Error(message);
    process.stderr.write(`warning: ${message}\n`);
  }
  const dir = buildBundles();
  process.env.TRIBUTARY_TEST_DIST = dir;
  return () => fs.rmSync(dir, { recursive: true, force: true });
}
