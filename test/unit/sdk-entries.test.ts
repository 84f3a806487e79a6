// Proves the SDK's public entry points pull in no gateway, agent or tool code:
// esbuild bundles them as `npm run build:sdk` does and its metafile lists
// every source file each entry reaches, and every package it imports; both are
// checked against the layout rule (sdk/ only) and package.json. Also that
// package.json `exports` names exactly these entries, and nothing internal.
import fs from 'node:fs';
import path from 'node:path';
import { builtinModules } from 'node:module';
import { build, type Metafile } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';

// @ts-expect-error a plain .mjs script without type declarations
import { sdkBuildOptions, sdkEntries } from '../../scripts/build-sdk.mjs';
import { repoRoot } from '../helpers/bundles.ts';

const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
  exports: Record<string, unknown>; dependencies: Record<string, string>;
};
let metafile: Metafile;

beforeAll(async () => {
  const result = await build({ ...sdkBuildOptions(path.join(repoRoot, 'node_modules', '.cache', 'sdk-graph')), write: false, metafile: true, logLevel: 'silent' });
  metafile = result.metafile!;
});

describe('SDK entry points', () => {
  it('are what package.json exports, with types first', () => {
    const expected: Record<string, unknown> = { './package.json': './package.json' };
    for (const e of sdkEntries as string[]) expected[`./${e}`] = { types: `./dist/sdk/${e}.d.ts`, default: `./dist/sdk/${e}.js` };
    expect(pkg.exports).toEqual(expected);
    for (const e of Object.values(pkg.exports)) if (typeof e === 'object') expect(Object.keys(e as object)[0]).toBe('types');
  });

  it('reach only files under sdk/', () => {
    const inputs = Object.keys(metafile.inputs).map((f) => path.relative(repoRoot, path.resolve(repoRoot, f)));
    expect(inputs.length).toBeGreaterThan(sdkEntries.length);
    for (const e of sdkEntries as string[]) expect(inputs).toContain(`sdk/${e}.ts`);
    expect(inputs.filter((f) => !f.startsWith('sdk/'))).toEqual([]);
    expect(inputs.filter((f) => /^(gateway|agent|replay|bin|firmware-bridge)\//.test(f))).toEqual([]);
  });

  it('import only Node built-ins and the package\'s own dependencies', () => {
    const imported = new Set<string>();
    for (const out of Object.values(metafile.outputs)) for (const i of out.imports) if (i.external) imported.add(i.path);
    const packages = [...imported].filter((p) => !p.startsWith('node:') && !builtinModules.includes(p));
    expect(packages.length).toBeGreaterThan(0);
    for (const p of packages) {
      const name = p.startsWith('@') ? p.split('/').slice(0, 2).join('/') : p.split('/')[0]!;
      expect(pkg.dependencies, `${p} is imported by an SDK entry`).toHaveProperty([name]);
    }
  });

  it('keep internal modules unexported: no pattern or directory exports', () => {
    expect(Object.keys(pkg.exports).filter((k) => k.includes('*') || k.endsWith('/'))).toEqual([]);
  });
});
