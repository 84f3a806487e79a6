/**
 * The file tail's globs, deliberately small: a fixed directory and a name
 * pattern where `*` matches any run of characters and `?` one character.
 * Enough for `/var/log/app/*.log`; no recursion, no braces.
 */
import path from 'node:path';
import { configError } from './common.ts';

export interface FileGlob {
  readonly pattern: string;
  readonly dir: string;
  readonly name: RegExp;
}

export function parseGlob(where: string, pattern: string): FileGlob {
  if (!path.isAbsolute(pattern)) throw configError(where, `must be an absolute path (got ${pattern})`);
  const dir = path.dirname(pattern);
  const base = path.basename(pattern);
  if (/[*?[\]{}]/.test(dir)) throw configError(where, `wildcards are allowed only in the file name (got ${pattern})`);
  if (/[[\]{}]/.test(base)) throw configError(where, `only * and ? are supported (got ${pattern})`);
  const source = base.split('').map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[.+^$()|\\]/g, '\\$&'))).join('');
  return Object.freeze({ pattern, dir, name: new RegExp(`^${source}$`, 's') });
}

export function globMatches(glob: FileGlob, fileName: string): boolean {
  return glob.name.test(fileName);
}
