/**
 * The gateway as another commit built it, for `npm run bench -- streams
 * --baseline <ref>`: the `tributary-baseline` column runs that bundle beside
 * the working tree's `tributary`, so that a change is measured against the
 * code before it in the same run, under the same machine load.
 *
 * The ref's tree is exported with `git archive` into a temp dir, which borrows
 * this checkout's node_modules (the build needs esbuild; the bundle loads
 * @node-rs/crc32 from beside it), and built there with its own
 * scripts/build.mjs.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from './servers.ts';

export interface BaselineBuild {
  /** The ref as given and the commit it named. */
  ref: string;
  commit: string;
  /** The built gateway bundle. */
  bundle: string;
}

export function buildBaseline(root: string, ref: string): BaselineBuild {
  const git = (args: string[]) => spawnSync('git', args, { cwd: root, encoding: 'utf8', maxBuffer: 1 << 30 });
  const rev = git(['rev-parse', '--verify', '--short', `${ref}^{commit}`]);
  if (rev.status !== 0) throw new Error(`--baseline: ${ref} is not a commit here (${rev.stderr.trim()})`);
  const commit = rev.stdout.trim();
  const dir = tempDir(`tributary-bench-baseline-${commit}-`);
  const archive = spawnSync('sh', ['-c', `git archive --format=tar ${commit} | tar -x -C "${dir}"`], { cwd: root, encoding: 'utf8' });
  if (archive.status !== 0) throw new Error(`--baseline: git archive ${commit} failed: ${archive.stderr.trim()}`);
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  process.stderr.write(`[baseline] building ${ref} (${commit}) in ${dir}\n`);
  const build = spawnSync(process.execPath, ['scripts/build.mjs', '--quiet'], { cwd: dir, stdio: ['ignore', 2, 2] });
  if (build.status !== 0) throw new Error(`--baseline: building ${commit} failed (exit ${build.status})`);
  return { ref, commit, bundle: path.join(dir, 'dist', 'tributary.mjs') };
}
