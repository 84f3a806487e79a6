// Proves every shell and JavaScript/TypeScript block of README.md and
// docs/*.md is either an example file under examples/ (verbatim, so the file a
// test runs is what readers paste) or says why it is not run; and that the
// checker itself catches a drifted block, an unmarked block and a missing file.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

import { parseAgentConfig } from '../../agent/config.ts';
import { parseGatewayConfig } from '../../gateway/config.ts';

// @ts-expect-error a plain .mjs script without type declarations
import { checkBlocks, parseBlocks, writeBlocks } from '../../scripts/doc-examples.mjs';

describe('docs code blocks', () => {
  it('are examples that match their files, or say why they are not run', () => {
    expect(checkBlocks()).toEqual([]);
  });
});

describe('configs/agent.example.yaml', () => {
  // Issue #18: the example said lingerMs 200 while the default is 1000; readers take an example's values for the defaults.
  it('shows the defaults of the sections it sets without saying otherwise', () => {
    const file = path.join(import.meta.dirname, '../../configs/agent.example.yaml');
    const shown = parseAgentConfig(fs.readFileSync(file, 'utf8'), file);
    const defaults = parseAgentConfig('gateway:\n  credentials: /var/lib/tributary/credentials.json\ndestinations:\n  t:\n    stream: t\n', 'minimal.yaml');
    for (const section of ['uplink', 'buffer', 'state', 'metrics', 'log'] as const) expect(shown[section], section).toEqual(defaults[section]);
  });
});

describe('configs/gateway.example.yaml', () => {
  it('shows the defaults, as its first line says (offloadWorkers depends on the CPUs, so it is commented out)', () => {
    const file = path.join(import.meta.dirname, '../../configs/gateway.example.yaml');
    const text = fs.readFileSync(file, 'utf8');
    expect(text).toMatch(/the values shown\s*\n?#? ?are the defaults/);
    expect(parseGatewayConfig(text, file)).toEqual(parseGatewayConfig('', 'empty.yaml'));
    expect(text).toMatch(/^  # offloadWorkers:/m);
  });
});

describe('scripts/doc-examples.mjs', () => {
  function fixture(readme: string, files: Record<string, string>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trb-docs-'));
    fs.mkdirSync(path.join(dir, 'docs'));
    fs.mkdirSync(path.join(dir, 'examples'));
    fs.writeFileSync(path.join(dir, 'README.md'), readme);
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
    return dir;
  }

  it('reads the marker on the nearest non-blank line above a fence', () => {
    const blocks = parseBlocks('text\n<!-- example: examples/a.sh -->\n\n```sh\necho hi\n```\n\n```json\n{}\n```\n', 'X.md');
    expect(blocks).toMatchObject([
      { line: 4, lang: 'sh', content: 'echo hi', marker: { kind: 'example', value: 'examples/a.sh' } },
      { line: 8, lang: 'json', content: '{}', marker: undefined },
    ]);
  });

  it('reports unmarked runnable blocks, drifted examples and missing files', () => {
    const dir = fixture(
      '```sh\nls\n```\n\n<!-- example: examples/a.sh -->\n```sh\necho old\n```\n\n<!-- example: examples/none.sh -->\n```sh\nx\n```\n\n<!-- not-run: -->\n```ts\ny\n```\n\n```yaml\nk: v\n```\n',
      { 'examples/a.sh': 'echo new\n' },
    );
    const problems = checkBlocks(dir) as string[];
    expect(problems).toHaveLength(4);
    expect(problems[0]).toMatch(/^README\.md:1: a sh block needs/);
    expect(problems[1]).toMatch(/^README\.md:6: the block differs from examples\/a\.sh/);
    expect(problems[2]).toMatch(/^README\.md:11: example examples\/none\.sh is not a file under examples\//);
    expect(problems[3]).toMatch(/^README\.md:16: <!-- not-run: --> must say why/);
  });

  it('--write copies example files into their blocks, keeping a list item\'s indentation', () => {
    const dir = fixture('- step:\n  <!-- example: examples/a.sh -->\n  ```sh\n  old\n  ```\n', { 'examples/a.sh': 'one\ntwo\n' });
    expect(writeBlocks(dir)).toEqual(['README.md']);
    expect(fs.readFileSync(path.join(dir, 'README.md'), 'utf8')).toBe('- step:\n  <!-- example: examples/a.sh -->\n  ```sh\n  one\n  two\n  ```\n');
    expect(checkBlocks(dir)).toEqual([]);
  });
});
