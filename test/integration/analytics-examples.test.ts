/**
 * Proves that the offline runner reproduces, row for row, every published
 * KDA SQL example under test/fixtures/analytics/: each fixture's code, input
 * and records go through runAnalytics (the code behind `tributary analytics
 * run`), and the printed JSON lines must equal the page's output table in
 * order. analytics-cli.test.ts runs a few through the real command.
 */
import { describe, expect, it } from 'vitest';
import { runAnalytics } from '../../gateway/analytics/runner.ts';
import { fixtureNames, loadFixture } from '../helpers/analytics-fixtures.ts';

describe('KDA SQL documentation examples through the offline runner', () => {
  for (const name of fixtureNames()) {
    it(name, async () => {
      const f = loadFixture(name);
      const out: string[] = [];
      await runAnalytics({
        code: f.code,
        input: f.input,
        references: f.references,
        records: f.records,
        recordsName: `${name}/records.jsonl`,
        ...(f.meta.rowtime ? { rowtimePath: f.meta.rowtime } : {}),
        ...(f.meta.output ? { output: f.meta.output } : {}),
        write: (l) => out.push(l),
      });
      expect(out.map((l) => JSON.parse(l) as unknown), `${f.meta.page} (${f.meta.section})`).toEqual(f.expected);
    });
  }
});
