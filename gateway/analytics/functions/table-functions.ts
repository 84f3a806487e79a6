/**
 * Table functions over a cursor: `TABLE(fn(CURSOR(SELECT STREAM ...), ...))`.
 * Each checks its literal arguments at compile time (bounds from ml/limits.ts,
 * cited to the SQL Reference) and returns its output columns and an operator.
 *
 * - RANDOM_CUT_FOREST(cursor [, numberOfTrees, subSampleSize, timeDecay, shingleSize])
 *   and RANDOM_CUT_FOREST_WITH_EXPLANATION(cursor, numberOfTrees, subSampleSize,
 *   timeDecay, shingleSize, withDirectionality): every input column, then
 *   ANOMALY_SCORE (and ANOMALY_EXPLANATION). The model reads the numeric
 *   columns; other columns pass through. A row with a NULL numeric column is
 *   passed on with a NULL score and not learnt.
 * - HOTSPOTS(cursor, windowSize, scanRadius, minimumNumberOfPointsInAHotspot):
 *   every input column, then HOTSPOTS_RESULT (JSON).
 * - TOP_K_ITEMS_TUMBLING(cursor, 'column', K, windowSeconds): per tumbling
 *   window of ROWTIME, the K most frequent values of the column and their
 *   counts, most frequent first (columns: the column, MOST_FREQUENT_VALUES).
 * - COUNT_DISTINCT_ITEMS_TUMBLING(cursor, 'column', windowSeconds): per
 *   tumbling window, NUMBER_OF_DISTINCT_ITEMS.
 *
 * Windowed functions emit when the rowtime bound reaches the window's end,
 * with that end as ROWTIME, as GROUP BY STEP(ROWTIME ...) windows do.
 */
import type { Expr } from '../sql/ast.ts';
import { SqlError, type SourcePos } from '../sql/errors.ts';
import { isInteger, isNumeric, isString, T, typeName, type SqlType } from '../sql/types.ts';
import type { Column, ErrorSink, Horizon, Row, Sink } from '../operators/stream.ts';
import type { Relation } from '../planner/scope.ts';
import { CountDistinctItems, formatExplanation, Hotspots, mlLimits, RandomCutForest, TopKItems } from '../ml/index.ts';

export interface TableFunctionArgs {
  call: Extract<Expr, { kind: 'call' }>;
  /** The cursor's relation: its fields are the input columns. */
  input: Relation;
  /** Literal arguments after the cursor. */
  args: Array<{ value: unknown; type: SqlType; pos: SourcePos }>;
}

export interface PlannedTableFunction {
  columns: Column[];
  operator(out: Sink, errors: ErrorSink, pump: string, horizon: Horizon): Sink;
}

export interface TableFunction {
  plan(a: TableFunctionArgs): PlannedTableFunction;
}

/** ANOMALY_EXPLANATION and HOTSPOTS_RESULT are JSON text up to this long. */
export const mlResultLengthMax = 10_000;

function intArg(a: TableFunctionArgs, k: number, name: string, min: number, max: number, fallback?: number): number {
  const arg = a.args[k];
  if (!arg) {
    if (fallback !== undefined) return fallback;
    throw new SqlError(`${a.call.name} needs ${name}`, a.call.pos);
  }
  if (!isInteger(arg.type) || (arg.value as number) < min || (arg.value as number) > max) throw new SqlError(`${name} of ${a.call.name} must be an integer from ${min} to ${max}`, arg.pos);
  return arg.value as number;
}

function numericColumns(a: TableFunctionArgs): number[] {
  const cols = a.input.fields.filter((f) => !f.hidden && isNumeric(f.type)).map((f) => f.index);
  if (cols.length === 0) throw new SqlError(`${a.call.name} needs at least one numeric column in its cursor`, a.call.pos);
  return cols;
}

const passThrough = (a: TableFunctionArgs): Column[] => a.input.fields.filter((f) => !f.hidden).map((f) => ({ name: f.name, type: f.type }));
const visibleIndexes = (a: TableFunctionArgs) => a.input.fields.filter((f) => !f.hidden).map((f) => f.index);

/** Reads the numeric columns of a row; undefined when one is NULL. */
function point(r: Row, cols: number[]): number[] | undefined {
  const p = new Array<number>(cols.length);
  for (let k = 0; k < cols.length; k++) {
    const v = r[cols[k]!];
    if (v === null || v === undefined) return undefined;
    p[k] = v as number;
  }
  return p;
}

/** A per-row operator: output = the cursor's visible columns and `extra(row)`. */
function rowOperator(a: TableFunctionArgs, extra: (r: Row) => unknown[]): (out: Sink, errors: ErrorSink, pump: string) => Sink {
  const keep = visibleIndexes(a);
  return (out, errors, pump) => ({
    push(r) {
      let more: unknown[];
      try {
        more = extra(r);
      } catch (err) {
        errors({ errorName: 'Function_Error', message: `${a.call.name}: ${(err as Error).message}`, rowtime: r[0] as number, data: r, pump });
        return;
      }
      const row: Row = [r[0]];
      for (const k of keep) row.push(r[k]);
      out.push(row.concat(more));
    },
    bound: (t) => out.bound(t),
  });
}

function rcfOptions(a: TableFunctionArgs) {
  const L = mlLimits;
  const numberOfTrees = intArg(a, 0, 'numberOfTrees', L.rcfNumberOfTreesMin, L.rcfNumberOfTreesMax, L.rcfNumberOfTreesDefault);
  const subSampleSize = intArg(a, 1, 'subSampleSize', L.rcfSubSampleSizeMin, L.rcfSubSampleSizeMax, L.rcfSubSampleSizeDefault);
  const timeDecay = intArg(a, 2, 'timeDecay', L.rcfTimeDecayMin, L.rcfTimeDecayMax, L.rcfTimeDecayDefault);
  const shingleSize = intArg(a, 3, 'shingleSize', L.rcfShingleSizeMin, L.rcfShingleSizeMax, L.rcfShingleSizeDefault);
  if (subSampleSize >= timeDecay) throw new SqlError(`subSampleSize of ${a.call.name} must be less than timeDecay`, a.args[1]?.pos ?? a.call.pos);
  return { numberOfTrees, subSampleSize, timeDecay, shingleSize };
}

const randomCutForest: TableFunction = {
  plan(a) {
    if (a.args.length > 4) throw new SqlError('RANDOM_CUT_FOREST takes a cursor and up to 4 parameters', a.args[4]!.pos);
    const options = rcfOptions(a);
    const cols = numericColumns(a);
    return {
      columns: [...passThrough(a), { name: 'ANOMALY_SCORE', type: T.double }],
      operator(out, errors, pump) {
        const forest = new RandomCutForest(cols.length, options);
        return rowOperator(a, (r) => {
          const p = point(r, cols);
          return [p ? forest.process(p) : null];
        })(out, errors, pump);
      },
    };
  },
};

const randomCutForestWithExplanation: TableFunction = {
  plan(a) {
    if (a.args.length !== 5) throw new SqlError('RANDOM_CUT_FOREST_WITH_EXPLANATION takes a cursor, numberOfTrees, subSampleSize, timeDecay, shingleSize and withDirectionality', a.call.pos);
    const options = rcfOptions(a);
    const directional = a.args[4]!;
    if (directional.type.kind !== 'BOOLEAN') throw new SqlError('withDirectionality must be TRUE or FALSE', directional.pos);
    const cols = numericColumns(a);
    const names = cols.map((k) => a.input.fields.find((f) => f.index === k)!.name);
    return {
      columns: [...passThrough(a), { name: 'ANOMALY_SCORE', type: T.double }, { name: 'ANOMALY_EXPLANATION', type: T.varchar(mlResultLengthMax) }],
      operator(out, errors, pump) {
        const forest = new RandomCutForest(cols.length, options);
        return rowOperator(a, (r) => {
          const p = point(r, cols);
          if (!p) return [null, null];
          const explained = forest.processWithExplanation(p);
          return [explained.score, formatExplanation(names, explained, directional.value === true)];
        })(out, errors, pump);
      },
    };
  },
};

const hotspots: TableFunction = {
  plan(a) {
    if (a.args.length !== 3) throw new SqlError('HOTSPOTS takes a cursor, windowSize, scanRadius and minimumNumberOfPointsInAHotspot', a.call.pos);
    const windowSize = intArg(a, 0, 'windowSize', mlLimits.hotspotsWindowSizeMin, mlLimits.hotspotsWindowSizeMax);
    const radius = a.args[1]!;
    if (!isNumeric(radius.type) || !((radius.value as number) > 0)) throw new SqlError('scanRadius of HOTSPOTS must be a number greater than 0', radius.pos);
    const minimum = intArg(a, 2, 'minimumNumberOfPointsInAHotspot', mlLimits.hotspotsMinimumPointsMin, windowSize);
    const cols = numericColumns(a);
    return {
      columns: [...passThrough(a), { name: 'HOTSPOTS_RESULT', type: T.varchar(mlResultLengthMax) }],
      operator(out, errors, pump) {
        const model = new Hotspots(cols.length, { windowSize, scanRadius: radius.value as number, minimumNumberOfPointsInAHotspot: minimum });
        return rowOperator(a, (r) => {
          const p = point(r, cols);
          return [p ? JSON.stringify(model.process(p)) : null];
        })(out, errors, pump);
      },
    };
  },
};

/** The column a windowed function counts: its literal name, resolved among the cursor's columns. */
function itemColumn(a: TableFunctionArgs): { index: number; name: string; type: SqlType } {
  const arg = a.args[0];
  if (!arg || !isString(arg.type)) throw new SqlError(`${a.call.name} needs the column name in single quotes after the cursor`, arg?.pos ?? a.call.pos);
  const name = arg.value as string;
  const f = a.input.fields.find((x) => !x.hidden && x.name === name) ?? a.input.fields.find((x) => !x.hidden && x.name.toUpperCase() === name.toUpperCase());
  if (!f) throw new SqlError(`column '${name}' not found in the cursor of ${a.call.name} (columns: ${a.input.fields.filter((x) => !x.hidden).map((x) => x.name).join(', ')})`, arg.pos);
  if (f.type.kind === 'ROW' || f.type.kind === 'BINARY' || f.type.kind === 'VARBINARY') throw new SqlError(`${a.call.name} cannot count a ${typeName(f.type)} column`, arg.pos);
  return { index: f.index, name: f.name, type: f.type };
}

/** Tumbling windows of `seconds` on ROWTIME, aligned to the epoch as STEP(ROWTIME BY ...) aligns them. */
function windowed(seconds: number, horizon: Horizon, onRow: (r: Row) => void, onClose: (end: number) => void): Sink {
  const ms = seconds * 1000;
  let end = -Infinity;
  let lastRowtime = -Infinity;
  return {
    push(r) {
      const t = r[0] as number;
      if (end === -Infinity) {
        end = Math.floor(t / ms) * ms + ms;
        horizon.need(end);
      }
      lastRowtime = t;
      onRow(r);
    },
    bound(t) {
      if (end !== -Infinity && t >= end) {
        onClose(t === Infinity ? Math.max(end, lastRowtime) : end);
        end = -Infinity;
      } else if (end !== -Infinity) horizon.need(end);
    },
  };
}

const topKItemsTumbling: TableFunction = {
  plan(a) {
    if (a.args.length !== 3) throw new SqlError("TOP_K_ITEMS_TUMBLING takes a cursor, 'columnName', K and windowSize", a.call.pos);
    const col = itemColumn(a);
    const k = intArg(a, 1, 'K', mlLimits.topKItemsKMin, mlLimits.topKItemsKMax);
    const seconds = intArg(a, 2, 'windowSize', mlLimits.tumblingWindowSecondsMin, mlLimits.tumblingWindowSecondsMax);
    return {
      columns: [{ name: col.name, type: col.type }, { name: 'MOST_FREQUENT_VALUES', type: T.bigint }],
      operator(out, _errors, _pump, horizon) {
        const sketch = new TopKItems(k);
        const w = windowed(
          seconds,
          horizon,
          (r) => {
            const v = r[col.index];
            if (v !== null && v !== undefined) sketch.add(typeof v === 'boolean' ? String(v) : (v as string | number));
          },
          (end) => {
            for (const item of sketch.top()) out.push([end, col.type.kind === 'BOOLEAN' ? item.item === 'true' : item.item, item.count]);
            sketch.reset();
          },
        );
        return { push: (r) => w.push(r), bound: (t) => (w.bound(t), out.bound(t)) };
      },
    };
  },
};

const countDistinctItemsTumbling: TableFunction = {
  plan(a) {
    if (a.args.length !== 2) throw new SqlError("COUNT_DISTINCT_ITEMS_TUMBLING takes a cursor, 'columnName' and windowSize", a.call.pos);
    const col = itemColumn(a);
    const seconds = intArg(a, 1, 'windowSize', mlLimits.tumblingWindowSecondsMin, mlLimits.tumblingWindowSecondsMax);
    return {
      columns: [{ name: 'NUMBER_OF_DISTINCT_ITEMS', type: T.bigint }],
      operator(out, _errors, _pump, horizon) {
        const sketch = new CountDistinctItems();
        const w = windowed(
          seconds,
          horizon,
          (r) => {
            const v = r[col.index];
            if (v !== null && v !== undefined) sketch.add(typeof v === 'number' || typeof v === 'string' ? v : String(v));
          },
          (end) => {
            out.push([end, sketch.estimate()]);
            sketch.reset();
          },
        );
        return { push: (r) => w.push(r), bound: (t) => (w.bound(t), out.bound(t)) };
      },
    };
  },
};

export const tableFunctions: Record<string, TableFunction> = {
  RANDOM_CUT_FOREST: randomCutForest,
  RANDOM_CUT_FOREST_WITH_EXPLANATION: randomCutForestWithExplanation,
  HOTSPOTS: hotspots,
  TOP_K_ITEMS_TUMBLING: topKItemsTumbling,
  COUNT_DISTINCT_ITEMS_TUMBLING: countDistinctItemsTumbling,
};
