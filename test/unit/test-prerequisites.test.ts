// The suite's own check of the machine (test/prerequisites.ts): a program missing from PATH is reported
// with its Debian package and one install command for all of them.
import { afterEach, expect, it } from 'vitest';
import { missingPackages, prerequisitesMessage } from '../prerequisites.ts';

const path = process.env.PATH;
afterEach(() => {
  process.env.PATH = path;
});

it('names the package of every program it cannot find, once, with the command that installs them', () => {
  process.env.PATH = '/nonexistent';
  const missing = missingPackages();
  const util = missing.find((m) => m.pkg === 'util-linux');
  expect(util?.programs).toEqual(['runuser', 'unshare']);
  expect(missing.filter((m) => m.pkg === 'ffmpeg')).toHaveLength(1);
  const message = prerequisitesMessage(missing);
  expect(message).toContain('runuser, unshare (package util-linux)');
  expect(message).toMatch(/sudo apt-get install -y --no-install-recommends .*\bsocat\b/);
});
