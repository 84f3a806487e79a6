// Keeps the code blocks of README.md and docs/*.md honest. A block a reader
// would paste carries a marker on the line before its fence:
//
//   <!-- example: examples/quickstart/aws-cli.sh -->   the block is that file, verbatim; a test runs the file
//   <!-- not-run: <why> -->                             deliberately not runnable as shown (a fragment, a
//                                                       device-only step, minutes of benchmark), said why
//
// Blocks in a shell or JavaScript/TypeScript language must carry one of them;
// output, file formats and configuration excerpts (text, json, yaml, or no
// language) need none. `node scripts/doc-examples.mjs` lists what is wrong;
// `--write` copies each example file into the blocks that include it (edit
// the file, then run this). test/unit/doc-examples.test.ts runs the check and
// test/integration/doc-examples.test.ts runs the examples.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Fence languages whose blocks a reader pastes into a shell or a source file. */
export const runnableLanguages = new Set(['sh', 'bash', 'shell', 'console', 'ts', 'typescript', 'js', 'javascript', 'mjs']);

const markerPattern = /^\s*<!--\s*(example|not-run):\s*(.*?)\s*-->\s*$/;
const fencePattern = /^(\s*)(`{3,}|~{3,})\s*([\w+-]*)/;

/** README.md and every docs/*.md, relative to the repository root. */
export function docFiles(dir = root) {
  const docs = fs.readdirSync(path.join(dir, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`);
  return ['README.md', ...docs];
}

/**
 * The fenced blocks of one Markdown text: language, 1-based line of the
 * opening fence, content (the fence's indentation removed) and the marker on
 * the nearest non-blank line above, if any.
 */
export function parseBlocks(text, file) {
  const lines = text.split('\n');
  const blocks = [];
  for (let i = 0; i < lines.length; i++) {
    const open = fencePattern.exec(lines[i]);
    if (!open) continue;
    const [, indent, fence, lang] = open;
    let end = i + 1;
    while (end < lines.length && !(lines[end].trim().startsWith(fence) && lines[end].trim().replace(/[`~]/g, '') === '')) end++;
    const content = lines.slice(i + 1, end).map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l.trimStart())).join('\n');
    let above = i - 1;
    while (above >= 0 && lines[above].trim() === '') above--;
    const m = above >= 0 ? markerPattern.exec(lines[above]) : null;
    blocks.push({
      file, line: i + 1, endLine: end + 1, lang: lang.toLowerCase(), indent, content,
      marker: m ? { kind: m[1], value: m[2] } : undefined,
    });
    i = end;
  }
  return blocks;
}

/** Every block of every doc file. */
export function allBlocks(dir = root) {
  return docFiles(dir).flatMap((f) => parseBlocks(fs.readFileSync(path.join(dir, f), 'utf8'), f));
}

/** What is wrong with the docs' blocks, one message per problem (empty: all well). */
export function checkBlocks(dir = root) {
  const problems = [];
  for (const b of allBlocks(dir)) {
    const at = `${b.file}:${b.line}`;
    if (!b.marker) {
      if (runnableLanguages.has(b.lang)) problems.push(`${at}: a ${b.lang} block needs <!-- example: examples/<file> --> (a file a test runs) or <!-- not-run: <why> --> on the line above`);
      continue;
    }
    if (b.marker.kind === 'not-run') {
      if (!b.marker.value) problems.push(`${at}: <!-- not-run: --> must say why`);
      continue;
    }
    const file = path.join(dir, b.marker.value);
    if (!b.marker.value.startsWith('examples/') || !fs.existsSync(file)) {
      problems.push(`${at}: example ${b.marker.value} is not a file under examples/`);
      continue;
    }
    if (fs.readFileSync(file, 'utf8').replace(/\n$/, '') !== b.content) problems.push(`${at}: the block differs from ${b.marker.value} (edit the file, then node scripts/doc-examples.mjs --write)`);
  }
  return problems;
}

/** Rewrites every example block from its file; returns the doc files changed. */
export function writeBlocks(dir = root) {
  const changed = [];
  for (const f of docFiles(dir)) {
    const full = path.join(dir, f);
    const text = fs.readFileSync(full, 'utf8');
    const lines = text.split('\n');
    // From the bottom up, so that earlier line numbers stay valid.
    for (const b of parseBlocks(text, f).reverse()) {
      if (b.marker?.kind !== 'example') continue;
      const file = path.join(dir, b.marker.value);
      if (!fs.existsSync(file)) continue;
      const body = fs.readFileSync(file, 'utf8').replace(/\n$/, '').split('\n').map((l) => (l ? b.indent + l : l));
      lines.splice(b.line, b.endLine - 1 - b.line, ...body);
    }
    const next = lines.join('\n');
    if (next !== text) {
      fs.writeFileSync(full, next);
      changed.push(f);
    }
  }
  return changed;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--write')) for (const f of writeBlocks()) console.log(`updated ${f}`);
  const problems = checkBlocks();
  for (const p of problems) console.error(p);
  process.exitCode = problems.length ? 1 : 0;
}
