/**
 * Proves the time model and the windows against plain reference
 * computations: tumbling windows (GROUP BY STEP/FLOOR of ROWTIME) emit every
 * key of a window at once, in first-seen order, when ROWTIME or a bound
 * passes the window's end, stamped with that end; sliding windows (RANGE and
 * ROWS, PARTITION BY) give one row per input row over exactly the rows of
 * the window; stagger windows open per key; and a row that fails goes to
 * error_stream while the application carries on. Property tests compare the
 * engine with straightforward re-computations over random streams.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runApp, t, ts, type In } from '../helpers/analytics-run.ts';

const columns = { K: 'VARCHAR(8)', V: 'DOUBLE' };

describe('tumbling windows', () => {
  const code = (group: string, having = '') => `
    CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (k VARCHAR(8), n BIGINT, total DOUBLE, lo DOUBLE, hi DOUBLE, mean DOUBLE, w TIMESTAMP);
    CREATE OR REPLACE PUMP "P" AS INSERT INTO "DESTINATION_SQL_STREAM"
      SELECT STREAM k, COUNT(*), SUM(v), MIN(v), MAX(v), AVG(v), ${group} FROM "SOURCE_SQL_STREAM_001"
      GROUP BY k, ${group} ${having};`;

  it('emits every key of a window when a later row arrives, in first-seen order, at the window end', () => {
    const { rows } = runApp(code(`STEP("SOURCE_SQL_STREAM_001".ROWTIME BY INTERVAL '10' SECOND)`), [
      { at: 1, data: { K: 'b', V: 1 } },
      { at: 2, data: { K: 'a', V: 2 } },
      { at: 9.999, data: { K: 'b', V: 3 } },
      { at: 10, data: { K: 'a', V: 4 } },
    ], { columns, end: false });
    expect(rows).toEqual([
      { ROWTIME: ts(10), K: 'b', N: 2, TOTAL: 4, LO: 1, HI: 3, MEAN: 2, W: ts(0) },
      { ROWTIME: ts(10), K: 'a', N: 1, TOTAL: 2, LO: 2, HI: 2, MEAN: 2, W: ts(0) },
    ]);
  });

  it('closes a window when the rowtime bound passes its end, without a row', () => {
    const r1 = runApp(code('FLOOR("SOURCE_SQL_STREAM_001".ROWTIME TO MINUTE)'), [{ at: 5, data: { K: 'a', V: 1 } }], { columns, end: false, advanceTo: 59.999 });
    expect(r1.rows).toEqual([]);
    const r2 = runApp(code('FLOOR("SOURCE_SQL_STREAM_001".ROWTIME TO MINUTE)'), [{ at: 5, data: { K: 'a', V: 1 } }], { columns, end: false, advanceTo: 60 });
    expect(r2.rows).toEqual([{ ROWTIME: ts(60), K: 'a', N: 1, TOTAL: 1, LO: 1, HI: 1, MEAN: 1, W: ts(0) }]);
  });

  it('applies HAVING to the groups', () => {
    const { rows } = runApp(code(`STEP(ROWTIME BY INTERVAL '1' MINUTE)`, 'HAVING COUNT(*) > 1'), [
      { at: 1, data: { K: 'a', V: 1 } },
      { at: 2, data: { K: 'b', V: 1 } },
      { at: 3, data: { K: 'a', V: 1 } },
    ], { columns });
    expect(rows.map((r) => r.K)).toEqual(['a']);
  });

  it('groups by a monotonic event-time column and sends a row of a closed window to error_stream', () => {
    const { rows, errors } = runApp(`
      CREATE STREAM "DESTINATION_SQL_STREAM" (m TIMESTAMP, n BIGINT);
      CREATE PUMP "P" AS INSERT INTO "DESTINATION_SQL_STREAM"
        SELECT STREAM FLOOR(e TO MINUTE), COUNT(*) FROM "SOURCE_SQL_STREAM_001" GROUP BY FLOOR(e TO MINUTE);`,
      [
        { at: 0, data: { E: '2024-01-01 05:00:10' } },
        { at: 1, data: { E: '2024-01-01 05:00:50' } },
        { at: 2, data: { E: '2024-01-01 05:01:10' } },
        { at: 3, data: { E: '2024-01-01 05:00:59' } },
        { at: 4, data: { E: '2024-01-01 05:01:20' } },
      ], { columns: { E: 'TIMESTAMP' } });
    expect(rows).toEqual([
      { ROWTIME: ts(2), M: '2024-01-01 05:00:00.000', N: 2 },
      { ROWTIME: ts(4), M: '2024-01-01 05:01:00.000', N: 2 },
    ]);
    expect(errors).toMatchObject([{ ERROR_NAME: 'Row_Out_Of_Order', PUMP_NAME: 'P', DATA_ROWTIME: ts(3) }]);
  });

  it('matches a reference computation over random streams (property)', () => {
    const rowArb = fc.record({ gap: fc.integer({ min: 0, max: 7000 }), k: fc.constantFrom('a', 'b', 'c', 'd'), v: fc.integer({ min: -50, max: 50 }) });
    fc.assert(
      fc.property(fc.array(rowArb, { minLength: 1, maxLength: 60 }), fc.constantFrom(5, 10, 60), (spec, size) => {
        let at = 0;
        const records: In[] = spec.map((r) => ({ at: (at += r.gap / 1000), data: { K: r.k, V: r.v } }));
        const { rows } = runApp(code(`STEP(ROWTIME BY INTERVAL '${size}' SECOND)`), records, { columns });
        const expected: unknown[] = [];
        const windows = new Map<number, Map<string, number[]>>();
        for (const r of records) {
          const w = Math.floor(t(r.at) / (size * 1000)) * size * 1000;
          const groups = windows.get(w) ?? windows.set(w, new Map()).get(w)!;
          const d = r.data as { K: string; V: number };
          (groups.get(d.K) ?? groups.set(d.K, []).get(d.K)!).push(d.V);
        }
        for (const [w, groups] of windows) {
          for (const [k, vs] of groups) {
            const sum = vs.reduce((a, b) => a + b, 0);
            expected.push({ ROWTIME: new Date(w + size * 1000).toISOString().replace('T', ' ').replace('Z', ''), K: k, N: vs.length, TOTAL: sum, LO: Math.min(...vs), HI: Math.max(...vs), MEAN: sum / vs.length, W: new Date(w).toISOString().replace('T', ' ').replace('Z', '') });
          }
        }
        expect(rows).toEqual(expected);
      }),
      { numRuns: 60 },
    );
  });
});

describe('sliding windows', () => {
  const code = (frame: string) => `
    CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (k VARCHAR(8), v DOUBLE, n BIGINT, total DOUBLE, lo DOUBLE, hi DOUBLE, mean DOUBLE, prev DOUBLE, first_v DOUBLE);
    CREATE OR REPLACE PUMP "P" AS INSERT INTO "DESTINATION_SQL_STREAM"
      SELECT STREAM k, v, COUNT(*) OVER w, SUM(v) OVER w, MIN(v) OVER w, MAX(v) OVER w, AVG(v) OVER w, LAG(v, 1) OVER w, FIRST_VALUE(v) OVER w
      FROM "SOURCE_SQL_STREAM_001"
      WINDOW w AS (PARTITION BY k ${frame});`;

  function reference(records: In[], inWindow: (j: In, i: In, back: number) => boolean) {
    return records.map((r, i) => {
      const d = r.data as { K: string; V: number };
      const mine = records.slice(0, i + 1).filter((x) => (x.data as { K: string }).K === d.K);
      const win = mine.filter((x, idx) => inWindow(x, r, mine.length - 1 - idx));
      const vs = win.map((x) => (x.data as { V: number }).V);
      const sum = vs.reduce((a, b) => a + b, 0);
      return { ROWTIME: ts(r.at), K: d.K, V: d.V, N: vs.length, TOTAL: sum, LO: Math.min(...vs), HI: Math.max(...vs), MEAN: sum / vs.length, PREV: vs.length > 1 ? vs[vs.length - 2] : null, FIRST_V: vs[0] };
    });
  }

  const streams = fc.array(fc.record({ gap: fc.integer({ min: 0, max: 4000 }), k: fc.constantFrom('a', 'b', 'c'), v: fc.integer({ min: -9, max: 9 }) }), { minLength: 1, maxLength: 50 });
  const toRecords = (spec: Array<{ gap: number; k: string; v: number }>) => {
    let at = 0;
    return spec.map((r) => ({ at: (at += r.gap / 1000), data: { K: r.k, V: r.v } }));
  };

  it('RANGE INTERVAL n SECOND PRECEDING holds the rows at most n seconds older, both ends included (property)', () => {
    fc.assert(
      fc.property(streams, fc.constantFrom(1, 3, 10), (spec, n) => {
        const records = toRecords(spec);
        const { rows } = runApp(code(`RANGE INTERVAL '${n}' SECOND PRECEDING`), records, { columns });
        expect(rows).toEqual(reference(records, (j, i) => t(j.at) >= t(i.at) - n * 1000));
      }),
      { numRuns: 60 },
    );
  });

  it('ROWS n PRECEDING holds the current row and the n before it (property)', () => {
    fc.assert(
      fc.property(streams, fc.constantFrom(0, 1, 4), (spec, n) => {
        const records = toRecords(spec);
        const { rows } = runApp(code(`ROWS ${n} PRECEDING`), records, { columns });
        expect(rows).toEqual(reference(records, (_j, _i, back) => back <= n));
      }),
      { numRuns: 60 },
    );
  });

  it('emits one row per input row with inline windows, named windows and an outer filter', () => {
    const { rows } = runApp(`
      CREATE STREAM "DESTINATION_SQL_STREAM" (k VARCHAR(8), c INTEGER);
      CREATE PUMP "P" AS INSERT INTO "DESTINATION_SQL_STREAM"
        SELECT STREAM k, c FROM (
          SELECT STREAM k, COUNT(*) OVER (PARTITION BY k RANGE INTERVAL '1' MINUTE PRECEDING) AS c FROM "SOURCE_SQL_STREAM_001")
        WHERE c >= 2;`,
      [
        { at: 0, data: { K: 'a', V: 1 } },
        { at: 30, data: { K: 'a', V: 1 } },
        { at: 70, data: { K: 'a', V: 1 } },
        { at: 200, data: { K: 'a', V: 1 } },
      ], { columns });
    expect(rows).toEqual([
      { ROWTIME: ts(30), K: 'a', C: 2 },
      { ROWTIME: ts(70), K: 'a', C: 2 },
    ]);
  });
});

describe('stagger windows', () => {
  it('opens a window per key at its first row and emits it RANGE later (property)', () => {
    const streams = fc.array(fc.record({ gap: fc.integer({ min: 0, max: 30_000 }), k: fc.constantFrom('a', 'b', 'c') }), { minLength: 1, maxLength: 40 });
    fc.assert(
      fc.property(streams, (spec) => {
        let at = 0;
        const records = spec.map((r) => ({ at: (at += r.gap / 1000), data: { K: r.k, V: 1 } }));
        const { rows } = runApp(`
          CREATE STREAM "DESTINATION_SQL_STREAM" (k VARCHAR(8), n INTEGER);
          CREATE PUMP "P" AS INSERT INTO "DESTINATION_SQL_STREAM"
            SELECT STREAM k, COUNT(*) FROM "SOURCE_SQL_STREAM_001" WINDOWED BY STAGGER (PARTITION BY k RANGE INTERVAL '1' MINUTE);`, records, { columns });
        // Windows that close at the same time come out in the order they opened.
        let opened = 0;
        const open = new Map<string, { start: number; n: number; seq: number }>();
        const closed: Array<{ end: number; k: string; n: number; seq: number }> = [];
        for (const r of records) {
          const k = (r.data as { K: string }).K;
          const now = t(r.at);
          const w = open.get(k);
          if (w && now >= w.start + 60_000) {
            closed.push({ end: w.start + 60_000, k, n: w.n, seq: w.seq });
            open.delete(k);
          }
          const cur = open.get(k);
          if (cur) cur.n++;
          else open.set(k, { start: now, n: 1, seq: opened++ });
        }
        for (const [k, w] of open) closed.push({ end: w.start + 60_000, k, n: w.n, seq: w.seq });
        closed.sort((a, b) => a.end - b.end || a.seq - b.seq);
        expect(rows).toEqual(closed.map((c) => ({ ROWTIME: new Date(c.end).toISOString().replace('T', ' ').replace('Z', ''), K: c.k, N: c.n })));
      }),
      { numRuns: 300 },
    );
  });
});

describe('error_stream and ordering', () => {
  it('sends a row that fails to error_stream with the pump and the row, and keeps going', () => {
    const { rows, errors } = runApp(`
      CREATE STREAM "DESTINATION_SQL_STREAM" (k VARCHAR(8), r DOUBLE);
      CREATE PUMP "DIVIDE" AS INSERT INTO "DESTINATION_SQL_STREAM" SELECT STREAM k, 10 / v FROM "SOURCE_SQL_STREAM_001";`,
      [
        { at: 1, data: { K: 'a', V: 2 } },
        { at: 2, data: { K: 'b', V: 0 } },
        { at: 3, data: { K: 'c', V: 5 } },
      ], { columns });
    expect(rows).toEqual([
      { ROWTIME: ts(1), K: 'a', R: 5 },
      { ROWTIME: ts(3), K: 'c', R: 2 },
    ]);
    expect(errors).toEqual([
      { ROWTIME: ts(2), ERROR_TIME: ts(2), ERROR_LEVEL: 'ERROR', ERROR_NAME: 'Division_By_Zero', MESSAGE: 'division by zero', DATA_ROWTIME: ts(2), DATA_ROW: Buffer.from(JSON.stringify(['b', 0, t(2)])).toString('hex'), PUMP_NAME: 'DIVIDE' },
    ]);
  });

  it('keeps a stream fed by several pumps in ROWTIME order, windows included', () => {
    const { rows } = runApp(`
      CREATE STREAM "DESTINATION_SQL_STREAM" (src VARCHAR(8), n BIGINT);
      CREATE PUMP "RAW" AS INSERT INTO "DESTINATION_SQL_STREAM" SELECT STREAM 'raw', 1 FROM "SOURCE_SQL_STREAM_001";
      CREATE PUMP "AGG" AS INSERT INTO "DESTINATION_SQL_STREAM"
        SELECT STREAM 'agg', COUNT(*) FROM "SOURCE_SQL_STREAM_001" GROUP BY STEP(ROWTIME BY INTERVAL '10' SECOND);
      CREATE STREAM "LATER" (src VARCHAR(8), n BIGINT);
      CREATE PUMP "COPY" AS INSERT INTO "LATER" SELECT STREAM src, n FROM "DESTINATION_SQL_STREAM" UNION ALL SELECT STREAM 'u', n FROM "DESTINATION_SQL_STREAM";`,
      [1, 5, 12, 13, 31].map((s) => ({ at: s, data: { K: 'a', V: 1 } })), { columns, output: 'LATER' });
    const times = rows.map((r) => r.ROWTIME as string);
    expect(times).toEqual([...times].sort());
    expect(rows.filter((r) => r.SRC === 'agg')).toEqual([
      { ROWTIME: ts(10), SRC: 'agg', N: 2 },
      { ROWTIME: ts(20), SRC: 'agg', N: 2 },
      { ROWTIME: ts(40), SRC: 'agg', N: 1 },
    ]);
    expect(rows).toHaveLength(16);
  });

  it('moves a record that arrives with an earlier timestamp up to the current ROWTIME', () => {
    const { rows } = runApp(`
      CREATE STREAM "DESTINATION_SQL_STREAM" (k VARCHAR(8), arrival TIMESTAMP);
      CREATE PUMP "P" AS INSERT INTO "DESTINATION_SQL_STREAM" SELECT STREAM k, APPROXIMATE_ARRIVAL_TIME FROM "SOURCE_SQL_STREAM_001";`,
      [
        { at: 10, data: { K: 'a' } },
        { at: 4, data: { K: 'b' } },
      ], { columns });
    expect(rows).toEqual([
      { ROWTIME: ts(10), K: 'a', ARRIVAL: ts(10) },
      { ROWTIME: ts(10), K: 'b', ARRIVAL: ts(4) },
    ]);
  });
});
