/**
 * Proves the machine-learning table functions are wired into SQL, through
 * the application code AWS publishes for them (quoted from the page each
 * test names) over synthetic data made here: the columns they add, what
 * they read (numeric columns only), their documented output formats, the
 * learning period, the ordering pump after them, and their argument bounds.
 * The algorithms themselves are proved in analytics-ml.test.ts; these tests
 * check properties of the results, not numbers taken from the
 * implementation. The windowed statistics (STDDEV, VAR, NTH_VALUE, EXP_AVG,
 * LAST_VALUE) are compared with direct computations.
 */
import { describe, expect, it } from 'vitest';
import { compileApplication, SqlError } from '../../gateway/analytics/engine.ts';
import { jsonInput, runApp, type In } from '../helpers/analytics-run.ts';

/** A seeded generator (mulberry32), so a failure can be replayed. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
const between = (r: () => number, lo: number, hi: number) => Math.floor(lo + r() * (hi - lo + 1));

describe('RANDOM_CUT_FOREST_WITH_EXPLANATION (dev/app-anom-with-exp-create-app.html)', () => {
  // The page's code, verbatim: a scoring pump into TEMP_STREAM, then a pump ordering each second by score.
  const code = `--Creates a temporary stream.
CREATE OR REPLACE STREAM "TEMP_STREAM" (
	        "Systolic"                  INTEGER,
	        "Diastolic"                 INTEGER,
	        "BloodPressureLevel"        varchar(20),
	        "ANOMALY_SCORE"             DOUBLE,
	        "ANOMALY_EXPLANATION"       varchar(512));

--Creates another stream for application output.
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (
	        "Systolic"                  INTEGER,
	        "Diastolic"                 INTEGER,
	        "BloodPressureLevel"        varchar(20),
	        "ANOMALY_SCORE"             DOUBLE,
	        "ANOMALY_EXPLANATION"       varchar(512));

-- Compute an anomaly score with explanation for each record in the input stream
-- using RANDOM_CUT_FOREST_WITH_EXPLANATION
CREATE OR REPLACE PUMP "STREAM_PUMP" AS 
   INSERT INTO "TEMP_STREAM"
      SELECT STREAM "Systolic", "Diastolic", "BloodPressureLevel", ANOMALY_SCORE, ANOMALY_EXPLANATION 
      FROM TABLE(RANDOM_CUT_FOREST_WITH_EXPLANATION(
              CURSOR(SELECT STREAM * FROM "SOURCE_SQL_STREAM_001"), 100, 256, 100000, 1, true));

-- Sort records by descending anomaly score, insert into output stream
CREATE OR REPLACE PUMP "OUTPUT_PUMP" AS 
   INSERT INTO "DESTINATION_SQL_STREAM"
      SELECT STREAM * FROM "TEMP_STREAM"
      ORDER BY FLOOR("TEMP_STREAM".ROWTIME TO SECOND), ANOMALY_SCORE DESC;`;
  const columns = { Systolic: 'INTEGER', Diastolic: 'INTEGER', BloodPressureLevel: 'VARCHAR(20)' };

  it('scores injected high and low readings above the normal ones, explains them by column and direction, and orders each second by score', () => {
    // As the page's generator (dev/app-anomaly-with-ex-prepare.html): mostly NORMAL readings, some HIGH and LOW ones, 10 a second.
    const r = rng(14);
    const records: In[] = [];
    const kinds = new Map<number, 'HIGH' | 'LOW'>();
    for (let i = 0; i < 1200; i++) {
      let data = { Systolic: between(r, 90, 120), Diastolic: between(r, 60, 80), BloodPressureLevel: 'NORMAL' };
      if (i >= 600 && i % 60 === 7) {
        const high = kinds.size % 2 === 0;
        kinds.set(i, high ? 'HIGH' : 'LOW');
        data = high ? { Systolic: between(r, 190, 200), Diastolic: between(r, 130, 150), BloodPressureLevel: 'HIGH' } : { Systolic: between(r, 50, 60), Diastolic: between(r, 20, 30), BloodPressureLevel: 'LOW' };
      }
      records.push({ at: i / 10, data });
    }
    const { rows, errors } = runApp(code, records, { columns });
    expect(errors).toEqual([]);
    expect(rows).toHaveLength(records.length);

    // Learning: the first subSampleSize (256) records score 0, the rest do not.
    const bySecond = new Map<string, typeof rows>();
    for (const row of rows) bySecond.set(row.ROWTIME as string, [...(bySecond.get(row.ROWTIME as string) ?? []), row]);
    const scores = rows.map((row) => row.ANOMALY_SCORE as number);
    expect(scores.filter((s) => s === 0)).toHaveLength(256);
    // ORDER BY FLOOR(ROWTIME TO SECOND), ANOMALY_SCORE DESC: within each second, scores fall.
    let previousSecond = '';
    let previousScore = Infinity;
    for (const row of rows) {
      const second = (row.ROWTIME as string).slice(0, 19);
      if (second !== previousSecond) [previousSecond, previousScore] = [second, Infinity];
      expect(row.ANOMALY_SCORE as number).toBeLessThanOrEqual(previousScore);
      previousScore = row.ANOMALY_SCORE as number;
    }

    const normal = rows.filter((row) => row.BloodPressureLevel === 'NORMAL' && (row.ANOMALY_SCORE as number) > 0).map((row) => row.ANOMALY_SCORE as number).sort((a, b) => a - b);
    const p99 = normal[Math.floor(normal.length * 0.99)]!;
    const anomalies = rows.filter((row) => row.BloodPressureLevel !== 'NORMAL');
    expect(anomalies).toHaveLength(kinds.size);
    const directions: boolean[] = [];
    for (const row of anomalies) {
      expect(row.ANOMALY_SCORE as number, JSON.stringify(row)).toBeGreaterThan(p99);
      // {"Systolic":{"DIRECTION":"HIGH","STRENGTH":"...","ATTRIBUTION_SCORE":"..."}, ...}: the numeric columns only.
      const explanation = JSON.parse(row.ANOMALY_EXPLANATION as string) as Record<string, Record<string, string>>;
      expect(Object.keys(explanation).sort()).toEqual(['Diastolic', 'Systolic']);
      let sum = 0;
      for (const col of Object.values(explanation)) {
        expect(Object.keys(col).sort()).toEqual(['ATTRIBUTION_SCORE', 'DIRECTION', 'STRENGTH']);
        expect(col.ATTRIBUTION_SCORE).toMatch(/^\d+(\.\d+)?$/);
        sum += Number(col.ATTRIBUTION_SCORE);
      }
      // The attributions share out the score (to the rounding of their printed digits).
      expect(sum).toBeCloseTo(row.ANOMALY_SCORE as number, 2);
      directions.push(explanation.Systolic!.DIRECTION === row.BloodPressureLevel, explanation.Diastolic!.DIRECTION === row.BloodPressureLevel);
    }
    // The forest is random (SQL gives it no seed): a reading can be isolated last from an earlier anomaly of its
    // own kind, on that one's far side, and one column then reads the other way. Nearly all must point the way
    // the reading went; a direction that were wrong or a coin toss would get about none or half.
    expect(directions.filter(Boolean).length / directions.length, JSON.stringify(directions)).toBeGreaterThanOrEqual(0.8);
  });

  it('passes a row with a NULL numeric column on with a NULL score', () => {
    const { rows } = runApp(code, [{ at: 0, data: { Systolic: 100, BloodPressureLevel: 'NORMAL' } }], { columns });
    expect(rows).toEqual([{ ROWTIME: expect.any(String), Systolic: 100, Diastolic: null, BloodPressureLevel: 'NORMAL', ANOMALY_SCORE: null, ANOMALY_EXPLANATION: null }]);
  });
});

describe('RANDOM_CUT_FOREST', () => {
  it('with its defaults adds ANOMALY_SCORE after the cursor columns and ranks injected spikes first', () => {
    // dev/app-anomaly-detection.html's shape: RANDOM_CUT_FOREST(CURSOR(SELECT STREAM * ...)) with the defaults.
    const code = `CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" ("heartRate" INTEGER, "rateType" VARCHAR(20), ANOMALY_SCORE DOUBLE);
      CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
        SELECT STREAM "heartRate", "rateType", ANOMALY_SCORE FROM TABLE(RANDOM_CUT_FOREST(CURSOR(SELECT STREAM * FROM "SOURCE_SQL_STREAM_001")));`;
    const app = compileApplication(code, { inputs: [jsonInput({ heartRate: 'INTEGER', rateType: 'VARCHAR(20)' })] });
    expect(app.streams.find((s) => s.name === 'DESTINATION_SQL_STREAM')!.columns.map((c) => c.name)).toEqual(['heartRate', 'rateType', 'ANOMALY_SCORE']);
    for (const seed of [1, 2, 3]) {
      const r = rng(seed);
      const spikes = new Set(Array.from({ length: 6 }, () => between(r, 400, 999)));
      const records: In[] = Array.from({ length: 1000 }, (_, i) => ({ at: i, data: spikes.has(i) ? { heartRate: between(r, 150, 200), rateType: 'HIGH' } : { heartRate: between(r, 60, 80), rateType: 'NORMAL' } }));
      const { rows } = runApp(code, records, { columns: { heartRate: 'INTEGER', rateType: 'VARCHAR(20)' } });
      const ranked = [...rows].sort((a, b) => (b.ANOMALY_SCORE as number) - (a.ANOMALY_SCORE as number));
      expect(ranked.slice(0, spikes.size).map((row) => row.rateType), `seed ${seed}`).toEqual(Array(spikes.size).fill('HIGH'));
    }
  });

  it('refuses arguments outside the SQL Reference bounds, and a cursor without a numeric column, with the position', () => {
    const compile = (call: string, cols: Record<string, string> = { v: 'DOUBLE' }) =>
      compileApplication(`CREATE STREAM "D" (v DOUBLE, s DOUBLE);\nCREATE PUMP "P" AS INSERT INTO "D" SELECT STREAM * FROM TABLE(${call});`, { inputs: [jsonInput(cols)] });
    const cursor = 'CURSOR(SELECT STREAM * FROM "SOURCE_SQL_STREAM_001")';
    expect(() => compile(`RANDOM_CUT_FOREST(${cursor}, 0, 256, 100000, 1)`)).toThrow(/numberOfTrees of RANDOM_CUT_FOREST must be an integer from 1 to 1000/);
    expect(() => compile(`RANDOM_CUT_FOREST(${cursor}, 100, 5, 100000, 1)`)).toThrow(/subSampleSize .* from 10 to 1000/);
    expect(() => compile(`RANDOM_CUT_FOREST(${cursor}, 100, 256, 100000, 31)`)).toThrow(/shingleSize .* from 1 to 30/);
    expect(() => compile(`HOTSPOTS(${cursor}, 50, 0.2, 17)`)).toThrow(/windowSize of HOTSPOTS must be an integer from 100 to 1000/);
    expect(() => compile(`TOP_K_ITEMS_TUMBLING(${cursor}, 'v', 5, 3601)`)).toThrow(/windowSize .* from 1 to 3600/);
    expect(() => compile(`RANDOM_CUT_FOREST(${cursor})`, { v: 'VARCHAR(4)' })).toThrow(/needs at least one numeric column/);
    try {
      compile(`RANDOM_CUT_FOREST(${cursor}, 0)`);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(SqlError);
      // The argument's own position: line 2, where the 0 stands.
      const line2 = `CREATE PUMP "P" AS INSERT INTO "D" SELECT STREAM * FROM TABLE(RANDOM_CUT_FOREST(${cursor}, 0));`;
      expect({ line: (err as SqlError).line, column: (err as SqlError).column }).toEqual({ line: 2, column: line2.lastIndexOf('0') + 1 });
    }
  });
});

describe('HOTSPOTS (dev/app-hotspot-create-app.html)', () => {
  // The page's code, verbatim (its SELECT has no STREAM keyword).
  const code = `CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (
    "x" DOUBLE, 
    "y" DOUBLE, 
    "is_hot" VARCHAR(4),
    HOTSPOTS_RESULT VARCHAR(10000)
); 
CREATE OR REPLACE PUMP "STREAM_PUMP" AS 
    INSERT INTO "DESTINATION_SQL_STREAM" 
    SELECT "x", "y", "is_hot", "HOTSPOTS_RESULT" 
    FROM TABLE (
        HOTSPOTS(   
            CURSOR(SELECT STREAM * FROM "SOURCE_SQL_STREAM_001"), 
            1000, 
            0.2, 
            17)
    );`;

  it('finds the injected hotspot in uniform noise and reports it in the documented JSON', () => {
    // As the page's generator (dev/app-hotspots-prepare.html): points uniform on [0, 10]^2, and 20% of them within 0.3 of a centre, marked is_hot Y.
    const r = rng(7);
    const centre = [6.5, 3.25];
    const records: In[] = Array.from({ length: 1500 }, (_, i) => {
      if (r() < 0.2) return { at: i / 100, data: { x: centre[0]! + (r() - 0.5) * 0.6, y: centre[1]! + (r() - 0.5) * 0.6, is_hot: 'Y' } };
      return { at: i / 100, data: { x: r() * 10, y: r() * 10, is_hot: 'N' } };
    });
    const { rows, errors } = runApp(code, records, { columns: { x: 'DOUBLE', y: 'DOUBLE', is_hot: 'VARCHAR(4)' } });
    expect(errors).toEqual([]);
    expect(rows).toHaveLength(records.length);
    expect(rows[0]).toMatchObject({ x: expect.any(Number), y: expect.any(Number), is_hot: expect.any(String) });
    // Once the window of 1,000 records is full, the densest hotspot is the injected one: its box holds the centre and is not much larger than the injected square.
    for (const row of rows.slice(1000)) {
      const result = JSON.parse(row.HOTSPOTS_RESULT as string) as { hotspots: Array<{ density: number; minValues: number[]; maxValues: number[] }> };
      expect(result.hotspots.length).toBeGreaterThan(0);
      const top = result.hotspots[0]!;
      expect(top.minValues).toHaveLength(2);
      expect(top.maxValues).toHaveLength(2);
      for (const d of [0, 1]) {
        expect(top.minValues[d]!).toBeLessThanOrEqual(centre[d]!);
        expect(top.maxValues[d]!).toBeGreaterThanOrEqual(centre[d]!);
        expect(top.maxValues[d]! - top.minValues[d]!).toBeLessThan(0.6 + 2 * 0.2 + 1e-9);
      }
      expect(top.density).toBeGreaterThan(1);
      for (let k = 1; k < result.hotspots.length; k++) expect(result.hotspots[k]!.density).toBeLessThanOrEqual(result.hotspots[k - 1]!.density);
    }
  });
});

describe('COUNT_DISTINCT_ITEMS_TUMBLING (sqlref/count-distinct-items.html)', () => {
  it('counts the distinct values of each 60-second window, emitted at the window end', () => {
    const code = `CREATE OR REPLACE STREAM DESTINATION_SQL_STREAM ("NUMBER_OF_DISTINCT_ITEMS" BIGINT);
      CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
        SELECT STREAM * FROM TABLE(COUNT_DISTINCT_ITEMS_TUMBLING(
          CURSOR(SELECT STREAM * FROM "SOURCE_SQL_STREAM_001"),
          'column1', -- name of column in single quotes
          60         -- tumbling window size in seconds
        ));`;
    const r = rng(3);
    const records: In[] = Array.from({ length: 3000 }, (_, i) => ({ at: i / 20, data: { column1: `item-${between(r, 0, 200 + Math.floor(i / 1000) * 300)}` } }));
    const expected = new Map<number, Set<string>>();
    for (const rec of records) {
      const w = Math.floor(rec.at / 60);
      expected.set(w, (expected.get(w) ?? new Set()).add((rec.data as { column1: string }).column1));
    }
    const { rows } = runApp(code, records, { columns: { column1: 'VARCHAR(16)' } });
    const ts = (s: number) => new Date(Date.UTC(2024, 0, 1) + s * 1000).toISOString().replace('T', ' ').replace('Z', '');
    expect(rows).toEqual([...expected].map(([w, items]) => ({ ROWTIME: ts((w + 1) * 60), NUMBER_OF_DISTINCT_ITEMS: items.size })));
  });
});

describe('windowed statistics against direct computations', () => {
  it('STDDEV_POP/SAMP, VAR_POP/SAMP, LAST_VALUE per tumbling window; NTH_VALUE and EXP_AVG over a sliding window', () => {
    const r = rng(11);
    const records: In[] = Array.from({ length: 400 }, (_, i) => ({ at: i * 0.7, data: { k: `k${between(r, 0, 2)}`, v: Math.round(r() * 1000) / 10 } }));
    const tumbling = runApp(
      `CREATE STREAM "DESTINATION_SQL_STREAM" (k VARCHAR(4), sp DOUBLE, ss DOUBLE, vp DOUBLE, vs DOUBLE, lv DOUBLE);
       CREATE PUMP "P" AS INSERT INTO "DESTINATION_SQL_STREAM"
         SELECT STREAM k, STDDEV_POP(v), STDDEV_SAMP(v), VAR_POP(v), VAR_SAMP(v), LAST_VALUE(v) FROM "SOURCE_SQL_STREAM_001"
         GROUP BY k, STEP("SOURCE_SQL_STREAM_001".ROWTIME BY INTERVAL '30' SECOND);`,
      records,
      { columns: { K: ['VARCHAR(4)', '$.k'], V: ['DOUBLE', '$.v'] } },
    );
    const groups = new Map<string, number[]>();
    for (const rec of records) {
      const { k, v } = rec.data as { k: string; v: number };
      const key = `${Math.floor(rec.at / 30)}/${k}`;
      groups.set(key, [...(groups.get(key) ?? []), v]);
    }
    expect(tumbling.rows).toHaveLength(groups.size);
    for (const row of tumbling.rows) {
      const w = Math.round((Date.parse((row.ROWTIME as string).replace(' ', 'T') + 'Z') - Date.UTC(2024, 0, 1)) / 30_000) - 1;
      const xs = groups.get(`${w}/${row.K as string}`)!;
      const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
      const ss = xs.reduce((s, x) => s + (x - mean) ** 2, 0);
      expect(row.VP as number).toBeCloseTo(ss / xs.length, 6);
      expect(row.SP as number).toBeCloseTo(Math.sqrt(ss / xs.length), 6);
      if (xs.length > 1) {
        expect(row.VS as number).toBeCloseTo(ss / (xs.length - 1), 6);
        expect(row.SS as number).toBeCloseTo(Math.sqrt(ss / (xs.length - 1)), 6);
      } else expect(row.VS).toBeNull();
      expect(row.LV).toBe(xs.at(-1));
    }

    // sqlref/sql-reference-exp-avg.html: weights halve every INTERVAL '10' SECOND of age, over the last 30 seconds of the ticker.
    const sliding = runApp(
      `CREATE STREAM "DESTINATION_SQL_STREAM" (k VARCHAR(4), second_v DOUBLE, avg_v DOUBLE);
       CREATE PUMP "P" AS INSERT INTO "DESTINATION_SQL_STREAM"
         SELECT STREAM k, NTH_VALUE(v, 2) OVER w, EXP_AVG(v, INTERVAL '10' SECOND) OVER w FROM "SOURCE_SQL_STREAM_001"
         WINDOW w AS (PARTITION BY k RANGE INTERVAL '30' SECOND PRECEDING);`,
      records,
      { columns: { K: ['VARCHAR(4)', '$.k'], V: ['DOUBLE', '$.v'] } },
    );
    expect(sliding.rows).toHaveLength(records.length);
    sliding.rows.forEach((row, i) => {
      const now = records[i]!.at;
      const inWindow = records.slice(0, i + 1).filter((rec) => (rec.data as { k: string }).k === row.K && now - rec.at <= 30 + 1e-9);
      expect(row.SECOND_V).toBe(inWindow.length >= 2 ? (inWindow[1]!.data as { v: number }).v : null);
      let num = 0;
      let den = 0;
      for (const rec of inWindow) {
        const w = 0.5 ** ((now - rec.at) / 10);
        num += w * (rec.data as { v: number }).v;
        den += w;
      }
      expect(row.AVG_V as number).toBeCloseTo(num / den, 6);
    });
  });
});
