/**
 * The scalar functions (sqlref/sql-reference-functions.html): each entry
 * checks its argument types at compile time and emits the JavaScript that
 * computes it. NULL arguments give NULL unless the function says otherwise
 * (COALESCE, NULLIF). Time functions use the application's clock, which the
 * engine passes in (the offline runner's is the rowtime of the input, so runs
 * are reproducible).
 */
import type { Expr, TimeUnit } from '../sql/ast.ts';
import type { Code, ExprCompiler } from '../sql/compile-expr.ts';
import { SqlError } from '../sql/errors.ts';
import { commonType, isDatetime, isInteger, isInterval, isNull, isNumeric, isString, T, typeName, type SqlType } from '../sql/types.ts';
import { unitMs } from './datetime.ts';
import { parseColumnSpec, regexRowType, sysLogRowType, w3cRowType } from './log-parse.ts';

type Call = Extract<Expr, { kind: 'call' }>;

export interface ScalarFunction {
  arity: [number, number];
  compile(args: Code[], call: Call, c: ExprCompiler): Code;
}

const fail = (call: Call, msg: string): never => {
  throw new SqlError(msg, call.pos);
};

function need(call: Call, a: Code, ok: (t: SqlType) => boolean, what: string, n: number): void {
  if (!isNull(a.type) && !ok(a.type)) fail(call, `argument ${n} of ${call.name} must be ${what}, not ${typeName(a.type)}`);
}

/** A compile-time constant argument (a format, a column specification, a unit). */
function constant(call: Call, a: Code | undefined, n: number): unknown {
  if (!a?.constant) return fail(call, `argument ${n} of ${call.name} must be a literal`);
  return a.constant.value;
}

const varcharOf = (t: SqlType) => (isString(t) ? T.varchar((t as { length: number }).length) : T.varchar());

/** A function of numbers returning `type` (or the argument's type), computed by `f` on the argument codes. */
const numeric = (arity: number, f: (x: string[]) => string, type?: SqlType): ScalarFunction => ({
  arity: [arity, arity],
  compile(args, call, c) {
    args.forEach((a, k) => need(call, a, isNumeric, 'numeric', k + 1));
    return c.nullSafe(args, f, type ?? (isNull(args[0]!.type) ? T.double : args[0]!.type));
  },
});

const stringFn = (f: (x: string[]) => string, type: (args: Code[]) => SqlType, arity: [number, number] = [1, 1]): ScalarFunction => ({
  arity,
  compile(args, call, c) {
    need(call, args[0]!, isString, 'a character string', 1);
    return c.nullSafe(args, f, type(args));
  },
});

function floorCeil(kind: 'floor' | 'ceil'): ScalarFunction {
  return {
    arity: [1, 2],
    compile(args, call, c) {
      const [x, unit] = args as [Code, Code | undefined];
      if (!unit) {
        need(call, x, isNumeric, 'numeric', 1);
        if (isInteger(x.type)) return x;
        return c.nullSafe([x], ([v]) => `Math.${kind}(${v})`, x.type);
      }
      const u = unit.constant!.value as TimeUnit;
      if (isDatetime(x.type)) return c.nullSafe([x], ([v]) => `h.${kind}To(${v}, ${JSON.stringify(u)})`, x.type);
      if (x.type.kind === 'INTERVAL_DS' && unitMs[u]) return c.nullSafe([x], ([v]) => `h.${kind}Interval(${v}, ${unitMs[u]})`, x.type);
      return fail(call, `cannot ${call.name} ${typeName(x.type)} TO ${u}`);
    },
  };
}

const step: ScalarFunction = {
  arity: [2, 2],
  compile([x, by], call, c) {
    if (isInteger(x!.type) && isInteger(by!.type)) return c.nullSafe([x!, by!], ([a, b]) => `h.stepInt(${a}, ${b})`, x!.type);
    if ((isDatetime(x!.type) || x!.type.kind === 'INTERVAL_DS') && by!.type.kind === 'INTERVAL_DS') return c.nullSafe([x!, by!], ([a, b]) => `h.stepMs(${a}, ${b})`, x!.type);
    if (x!.type.kind === 'TIMESTAMP' || x!.type.kind === 'DATE') {
      if (by!.type.kind === 'INTERVAL_YM') return c.nullSafe([x!, by!], ([a, b]) => `h.stepMonths(${a}, ${b})`, x!.type);
    }
    return fail(call, `STEP needs (integer BY integer) or (datetime BY INTERVAL), not (${typeName(x!.type)} BY ${typeName(by!.type)})`);
  },
};

function clock(type: SqlType, convert: (code: string) => string): ScalarFunction {
  return {
    arity: [0, 0],
    compile(_args, _call, c) {
      return { code: convert(`${c.constRef(c.env.now ?? Date.now)}()`), type, nullable: false };
    },
  };
}

const extractFn: ScalarFunction = {
  arity: [2, 2],
  compile([unit, x], call, c) {
    const u = JSON.stringify(unit!.constant!.value);
    if (isDatetime(x!.type)) return c.nullSafe([x!], ([v]) => `h.extract(${u}, ${v})`, T.bigint);
    if (isInterval(x!.type)) return c.nullSafe([x!], ([v]) => `h.extractInterval(${u}, ${v}, ${x!.type.kind === 'INTERVAL_YM'})`, T.bigint);
    return fail(call, `cannot EXTRACT from ${typeName(x!.type)}`);
  },
};

/** CHAR_TO_TIMESTAMP(format, text) and its DATE/TIME siblings. */
function charTo(type: 'TIMESTAMP' | 'DATE' | 'TIME'): ScalarFunction {
  const conv = type === 'DATE' ? 'h.toDate' : type === 'TIME' ? 'h.toTime' : '';
  return {
    arity: [2, 2],
    compile(args, call, c) {
      need(call, args[0]!, isString, 'a character string', 1);
      need(call, args[1]!, isString, 'a character string', 2);
      return c.nullSafe(args, ([f, s]) => `${conv}(h.parseTs(${f}, ${s}))`, { kind: type });
    },
  };
}

/** TIMESTAMP_TO_CHAR(format, ts) and its DATE/TIME siblings. */
function toChar(type: 'TIMESTAMP' | 'DATE' | 'TIME'): ScalarFunction {
  return {
    arity: [2, 2],
    compile(args, call, c) {
      need(call, args[0]!, isString, 'a character string', 1);
      need(call, args[1]!, (t) => t.kind === type || (type === 'TIMESTAMP' && t.kind === 'DATE'), type, 2);
      // sqlref/sql-reference-timestamp-to-char.html: "If the input is null, the output will be the string 'null'".
      const t = c.temp();
      const formatted = c.nullSafe([args[0]!, { ...args[1]!, code: t, nullable: false }], ([f, v]) => `h.formatTs(${f}, ${v})`, T.varchar());
      return { code: `((${t} = ${args[1]!.code}) === null ? 'null' : ${formatted.code})`, type: T.varchar(), nullable: formatted.nullable };
    },
  };
}

function logParser(name: string): ScalarFunction {
  return {
    arity: name === 'VARIABLE_COLUMN_LOG_PARSE' ? [3, 5] : name === 'SYS_LOG_PARSE' ? [1, 1] : [2, 3],
    compile(args, call, c) {
      need(call, args[0]!, isString, 'a character string', 1);
      const s = args[0]!;
      switch (name) {
        case 'REGEX_LOG_PARSE':
        case 'FAST_REGEX_LOG_PARSER': {
          const pattern = constant(call, args[1], 2) as string;
          const type = regexRowType(pattern, call.pos);
          const fn = name === 'REGEX_LOG_PARSE' ? 'regexLogParse' : 'fastRegexLogParse';
          return c.nullSafe([s], ([v]) => `h.${fn}(${v}, ${JSON.stringify(pattern)})`, type, true);
        }
        case 'W3C_LOG_PARSE': {
          const format = constant(call, args[1], 2) as string;
          return c.nullSafe([s], ([v]) => `h.w3cLogParse(${v}, ${JSON.stringify(format)})`, w3cRowType(format, call.pos), true);
        }
        case 'VARIABLE_COLUMN_LOG_PARSE': {
          const spec = String(constant(call, args[1], 2));
          const { type, formats } = parseColumnSpec(spec, call.pos);
          const delim = constant(call, args[2], 3) as string;
          const esc = args[3] ? (constant(call, args[3], 4) as string) : null;
          const quote = args[4] ? (constant(call, args[4], 5) as string) : null;
          return c.nullSafe([s], ([v]) => `h.variableColumnLogParse(${v}, ${c.constRef(type)}, ${JSON.stringify(delim)}, ${JSON.stringify(esc)}, ${JSON.stringify(quote)}, ${c.constRef(formats)})`, type);
        }
        case 'FIXED_COLUMN_LOG_PARSE': {
          const { type, spans, formats } = parseColumnSpec(String(constant(call, args[1], 2)), call.pos, true);
          return c.nullSafe([s], ([v]) => `h.fixedColumnLogParse(${v}, ${c.constRef(type)}, ${c.constRef(spans)}, ${c.constRef(formats)})`, type);
        }
        default:
          return c.nullSafe([s], ([v]) => `h.sysLogParse(${v})`, sysLogRowType, true);
      }
    },
  };
}

const coalesce: ScalarFunction = {
  arity: [1, 1000],
  compile(args, call, c) {
    const type = commonType(args.map((a) => a.type));
    if (!type) return fail(call, `COALESCE arguments have incompatible types: ${args.map((a) => typeName(a.type)).join(', ')}`);
    const conv = args.map((a) => (isNumeric(type) || isString(type) || isNull(a.type) || a.type.kind === type.kind ? a : c.cast(a, type, call)));
    let code = conv[conv.length - 1]!.code;
    for (let k = conv.length - 2; k >= 0; k--) {
      const t = c.temp();
      code = `((${t} = ${conv[k]!.code}) !== null ? ${t} : ${code})`;
    }
    return { code, type, nullable: conv.every((a) => a.nullable) };
  },
};

const nullif: ScalarFunction = {
  arity: [2, 2],
  compile([a, b], call, c) {
    const t = c.temp();
    const eq = c.binary('=', { ...a!, code: t, nullable: true }, b!, call);
    return { code: `((${t} = ${a!.code}) === null ? null : (${eq.code}) === true ? null : ${t})`, type: a!.type, nullable: true };
  },
};

export const scalarFunctions: Record<string, ScalarFunction> = {
  ABS: numeric(1, ([x]) => `Math.abs(${x})`),
  CEIL: floorCeil('ceil'),
  CEILING: floorCeil('ceil'),
  FLOOR: floorCeil('floor'),
  EXP: numeric(1, ([x]) => `Math.exp(${x})`, T.double),
  LN: numeric(1, ([x]) => `h.ln(${x})`, T.double),
  LOG10: numeric(1, ([x]) => `h.log10(${x})`, T.double),
  MOD: {
    arity: [2, 2],
    compile(args, call, c) {
      args.forEach((a, k) => need(call, a, isInteger, 'an integer', k + 1));
      return c.nullSafe(args, ([a, b]) => `h.mod(${a}, ${b})`, args[1]!.type);
    },
  },
  POWER: numeric(2, ([a, b]) => `h.power(${a}, ${b})`, T.double),
  STEP: step,
  CHAR_LENGTH: stringFn(([s]) => `${s}.length`, () => T.integer),
  CHARACTER_LENGTH: stringFn(([s]) => `${s}.length`, () => T.integer),
  LOWER: stringFn(([s]) => `${s}.toLowerCase()`, ([a]) => varcharOf(a!.type)),
  UPPER: stringFn(([s]) => `${s}.toUpperCase()`, ([a]) => varcharOf(a!.type)),
  INITCAP: stringFn(([s]) => `h.initcap(${s})`, ([a]) => varcharOf(a!.type)),
  POSITION: {
    arity: [2, 2],
    compile(args, call, c) {
      args.forEach((a, k) => need(call, a, isString, 'a character string', k + 1));
      return c.nullSafe(args, ([a, b]) => `h.position(${a}, ${b})`, T.integer);
    },
  },
  SUBSTRING: {
    arity: [2, 3],
    compile(args, call, c) {
      need(call, args[0]!, isString, 'a character string', 1);
      args.slice(1).forEach((a, k) => need(call, a, isNumeric, 'numeric', k + 2));
      return c.nullSafe(args, (x) => `h.substring(${x.join(', ')})`, varcharOf(args[0]!.type));
    },
  },
  TRIM: {
    arity: [3, 3],
    compile(args, call, c) {
      need(call, args[1]!, isString, 'a character string', 1);
      need(call, args[2]!, isString, 'a character string', 2);
      return c.nullSafe(args, ([w, ch, s]) => `h.trim(${w}, ${ch}, ${s})`, varcharOf(args[2]!.type));
    },
  },
  OVERLAY: {
    arity: [3, 4],
    compile(args, call, c) {
      need(call, args[0]!, isString, 'a character string', 1);
      need(call, args[1]!, isString, 'a character string', 2);
      return c.nullSafe(args, (x) => `h.overlay(${x.join(', ')})`, T.varchar());
    },
  },
  REGEX_REPLACE: {
    arity: [5, 5],
    compile(args, call, c) {
      [0, 1, 2].forEach((k) => need(call, args[k]!, isString, 'a character string', k + 1));
      [3, 4].forEach((k) => need(call, args[k]!, isInteger, 'an integer', k + 1));
      return c.nullSafe(args, (x) => `h.regexReplace(${x.join(', ')})`, varcharOf(args[0]!.type));
    },
  },
  COALESCE: coalesce,
  NULLIF: nullif,
  CURRENT_TIMESTAMP: clock(T.timestamp, (x) => x),
  LOCALTIMESTAMP: clock(T.timestamp, (x) => x),
  CURRENT_ROW_TIMESTAMP: clock(T.timestamp, (x) => x),
  CURRENT_DATE: clock(T.date, (x) => `h.toDate(${x})`),
  CURRENT_TIME: clock(T.time, (x) => `h.toTime(${x})`),
  LOCALTIME: clock(T.time, (x) => `h.toTime(${x})`),
  EXTRACT: extractFn,
  TSDIFF: {
    arity: [2, 2],
    compile(args, call, c) {
      args.forEach((a, k) => need(call, a, (t) => t.kind === 'TIMESTAMP', 'a TIMESTAMP', k + 1));
      return c.nullSafe(args, ([a, b]) => `${a} - ${b}`, T.bigint);
    },
  },
  UNIX_TIMESTAMP: {
    arity: [1, 1],
    compile(args, call, c) {
      need(call, args[0]!, (t) => t.kind === 'TIMESTAMP' || t.kind === 'DATE', 'a TIMESTAMP', 1);
      return c.nullSafe(args, ([a]) => a!, T.bigint);
    },
  },
  TO_TIMESTAMP: {
    arity: [1, 1],
    compile(args, call, c) {
      need(call, args[0]!, isInteger, 'an integer (milliseconds since 1970)', 1);
      return c.nullSafe(args, ([a]) => a!, T.timestamp);
    },
  },
  CHAR_TO_TIMESTAMP: charTo('TIMESTAMP'),
  CHAR_TO_DATE: charTo('DATE'),
  CHAR_TO_TIME: charTo('TIME'),
  TIMESTAMP_TO_CHAR: toChar('TIMESTAMP'),
  DATE_TO_CHAR: toChar('DATE'),
  TIME_TO_CHAR: toChar('TIME'),
  REGEX_LOG_PARSE: logParser('REGEX_LOG_PARSE'),
  FAST_REGEX_LOG_PARSER: logParser('FAST_REGEX_LOG_PARSER'),
  W3C_LOG_PARSE: logParser('W3C_LOG_PARSE'),
  VARIABLE_COLUMN_LOG_PARSE: logParser('VARIABLE_COLUMN_LOG_PARSE'),
  FIXED_COLUMN_LOG_PARSE: logParser('FIXED_COLUMN_LOG_PARSE'),
  SYS_LOG_PARSE: logParser('SYS_LOG_PARSE'),
};
