/**
 * The published KDA SQL examples under test/fixtures/analytics/, one
 * directory each: fixture.json (the doc page and section it reproduces, notes,
 * runner options), app.sql, input.json (the API's Input), records.jsonl (one
 * Kinesis record per line, as GetRecords returns it), expected.jsonl (the rows
 * of the output stream, ROWTIME first), and optional reference files. The
 * offline-runner test and the live-application test both read them from here.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { EngineInput, EngineReference } from '../../gateway/analytics/engine.ts';
import { inputFromJson, referenceFromJson } from '../../gateway/analytics/runner.ts';

export const fixturesDir = path.resolve(import.meta.dirname, '../fixtures/analytics');

export interface FixtureMeta {
  page: string;
  section: string;
  notes?: string;
  /** --rowtime: take ROWTIME from this JSONPath of the payload. */
  rowtime?: string;
  /** --output: the in-application stream to read (default DESTINATION_SQL_STREAM). */
  output?: string;
  /** --reference REF=DATA pairs, file names relative to the fixture directory. */
  references?: Array<{ ref: string; data: string }>;
}

export interface Fixture {
  name: string;
  dir: string;
  meta: FixtureMeta;
  code: string;
  input: EngineInput;
  references: EngineReference[];
  records: string[];
  expected: Array<Record<string, unknown>>;
}

const lines = (file: string) => fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '');

export function loadFixture(name: string): Fixture {
  const dir = path.join(fixturesDir, name);
  const meta = JSON.parse(fs.readFileSync(path.join(dir, 'fixture.json'), 'utf8')) as FixtureMeta;
  const inputFile = path.join(dir, 'input.json');
  return {
    name,
    dir,
    meta,
    code: fs.readFileSync(path.join(dir, 'app.sql'), 'utf8'),
    input: inputFromJson(JSON.parse(fs.readFileSync(inputFile, 'utf8')), inputFile),
    references: (meta.references ?? []).map((r) => referenceFromJson(JSON.parse(fs.readFileSync(path.join(dir, r.ref), 'utf8')), r.ref, fs.readFileSync(path.join(dir, r.data)))),
    records: lines(path.join(dir, 'records.jsonl')),
    expected: lines(path.join(dir, 'expected.jsonl')).map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

export function fixtureNames(): string[] {
  return fs
    .readdirSync(fixturesDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && fs.existsSync(path.join(fixturesDir, d.name, 'fixture.json')))
    .map((d) => d.name)
    .sort();
}
