/**
 * `npm run bench -- <name> [options]` runs the `run(args)` exported by
 * bench/<name>.ts. Without a name, or with an unknown one, it lists the
 * benchmarks: the .ts files in bench/ that export a `run` function.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

interface Benchmark {
  run(args: string[]): Promise<void>;
  description?: string;
}

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const exportsRun = /^export\s+(async\s+)?function\s+run\s*\(/m;

/** Benchmark names, found by reading the files rather than importing them (bench/ also holds servers that listen on import). */
function available(): string[] {
  return fs
    .readdirSync(benchDir)
    .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && exportsRun.test(fs.readFileSync(path.join(benchDir, f), 'utf8')))
    .map((f) => f.slice(0, -'.ts'.length))
    .sort();
}

async function load(name: string): Promise<Benchmark> {
  return (await import(pathToFileURL(path.join(benchDir, `${name}.ts`)).href)) as Benchmark;
}

async function usage(): Promise<string> {
  const lines = ['usage: npm run bench -- <name> [--quick] [options]', '', 'benchmarks:'];
  for (const name of available()) lines.push(`  ${name.padEnd(12)} ${(await load(name)).description ?? ''}`);
  return lines.join('\n') + '\n';
}

const [name, ...args] = process.argv.slice(2);
if (name === undefined || name === '--help' || name === '-h') {
  process.stdout.write(await usage());
} else if (!available().includes(name)) {
  process.stderr.write(`unknown benchmark "${name}"\n\n${await usage()}`);
  process.exitCode = 2;
} else {
  try {
    await (await load(name)).run(args);
  } catch (err) {
    process.stderr.write(`bench ${name} failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  }
}
