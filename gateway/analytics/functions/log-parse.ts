/**
 * The log parsers, which return a ROW the query reads field by field
 * (`t.r.COLUMN1`): REGEX_LOG_PARSE, FAST_REGEX_LOG_PARSER, W3C_LOG_PARSE
 * (the predefined Apache formats), VARIABLE_COLUMN_LOG_PARSE,
 * FIXED_COLUMN_LOG_PARSE and SYS_LOG_PARSE (sqlref/sql-reference-pattern-matching-functions.html
 * and the pages of each). Column specifications are compile-time literals,
 * so the ROW type is known before any row arrives; a line that does not
 * match gives a NULL row.
 */
import { runtimeError, SqlError, type SourcePos } from '../sql/errors.ts';
import { parseTypeString } from '../sql/parser.ts';
import { T, typeFromSpec, type SqlType } from '../sql/types.ts';
import { castValue } from '../sql/values.ts';
import { parseWithPattern } from './date-format.ts';
import { javaRegex } from './strings.ts';

export type RowType = Extract<SqlType, { kind: 'ROW' }>;

/** Capture-group fields are VARCHAR(1024) (the reference pages' default for parsed columns). */
export const parsedColumnLength = 1024;

const columns = (n: number, type: SqlType = T.varchar(parsedColumnLength)): RowType => ({
  kind: 'ROW',
  fields: Array.from({ length: n }, (_, k) => ({ name: `COLUMN${k + 1}`, type })),
});

/** Number of capturing groups in a regular expression. */
function groupCount(pattern: string, pos: SourcePos): number {
  try {
    return new RegExp(`${javaRegex(pattern).source}|`).exec('')!.length - 1;
  } catch (err) {
    throw new SqlError(`invalid regular expression '${pattern}': ${(err as Error).message}`, pos);
  }
}

export function regexRowType(pattern: string, pos: SourcePos): RowType {
  return columns(groupCount(pattern, pos));
}

/** REGEX_LOG_PARSE: the whole string must match; each group is a column. */
export function regexLogParse(s: string, pattern: string): unknown[] | null {
  const m = javaRegex(`^(?:${pattern})$`).exec(s);
  return m ? m.slice(1).map((g) => g ?? null) : null;
}

/** FAST_REGEX_LOG_PARSER: the first match anywhere in the string. */
export function fastRegexLogParse(s: string, pattern: string): unknown[] | null {
  const m = javaRegex(pattern).exec(s);
  return m ? m.slice(1).map((g) => g ?? null) : null;
}

/** Apache format specifiers of the predefined W3C formats. */
const w3cFormats: Record<string, string> = {
  COMMON: '%h %l %u %t "%r" %>s %b',
  'COMMON WITH VHOST': '%v %h %l %u %t "%r" %>s %b',
  'NCSA EXTENDED': '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"',
  REFERER: '%{Referer}i -> %U',
  AGENT: '%{User-agent}i',
};

/** A regular expression for an Apache LogFormat: `%t` is `[...]`, quoted specifiers take the quoted text, others a run of non-spaces. */
function w3cRegex(format: string): { re: RegExp; n: number } {
  let src = '';
  let n = 0;
  for (let i = 0; i < format.length; ) {
    if (format[i] === '%') {
      const m = /^%[<>]?(?:\{[^}]*\}|\[[^\]]*\])?[a-zA-Z]/.exec(format.slice(i))!;
      const quotedField = format[i - 1] === '"';
      const spec = m[0][m[0].length - 1];
      src += quotedField ? '((?:[^"\\\\]|\\\\.)*)' : spec === 't' ? '\\[([^\\]]*)\\]' : '(\\S*)';
      n++;
      i += m[0].length;
      continue;
    }
    src += format[i]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    i++;
  }
  return { re: new RegExp(`^${src}$`), n };
}

const w3cCache = new Map<string, { re: RegExp; n: number }>();

export function w3cRowType(format: string, pos: SourcePos): RowType {
  const spec = w3cFormats[format.trim().toUpperCase()] ?? format;
  if (!spec.includes('%')) throw new SqlError(`unknown W3C log format '${format}'`, pos);
  const compiled = w3cRegex(spec);
  w3cCache.set(format, compiled);
  return columns(compiled.n);
}

export function w3cLogParse(s: string, format: string): unknown[] | null {
  const compiled = w3cCache.get(format) ?? w3cRegex(w3cFormats[format.trim().toUpperCase()] ?? format);
  const m = compiled.re.exec(s.trim());
  return m ? m.slice(1).map((g) => (g === undefined || g === '-' ? g ?? null : g)) : null;
}

/**
 * A column list such as `'COL_1 TYPE VARCHAR(16), COL_2 TYPE INTEGER'` or
 * `'3'` (three VARCHAR columns COLUMN1..COLUMN3). An entry is
 * `name TYPE type ['format'] [NOT NULL]`; a DATE, TIME or TIMESTAMP column
 * may give a SimpleDateFormat pattern its text is read with
 * (sqlref/sql-reference-fixed-column-log-parse.html: `"name" TYPE TIMESTAMP
 * 'dd/MMM/yyyy:HH:mm:ss'`). FIXED_COLUMN_LOG_PARSE's entries add
 * `START n [FOR m]` (0-based start, m characters; without FOR, to the end).
 */
export function parseColumnSpec(spec: string, pos: SourcePos, fixed = false): { type: RowType; spans: Array<[number, number | null]>; formats: Array<string | null> } {
  if (/^\s*\d+\s*$/.test(spec) && !fixed) {
    const type = columns(Number(spec));
    return { type, spans: [], formats: type.fields.map(() => null) };
  }
  const fields: RowType['fields'] = [];
  const spans: Array<[number, number | null]> = [];
  const formats: Array<string | null> = [];
  for (const entry of spec.split(/,(?![^(]*\))(?=(?:[^']*'[^']*')*[^']*$)/)) {
    const m = /^\s*("[^"]+"|\w+)\s+TYPE\s+(.+?)(?:\s+'([^']*)')?(?:\s+NOT\s+NULL)?(?:\s+START\s+(\d+)(?:\s+FOR\s+(\d+))?)?\s*$/i.exec(entry);
    if (!m) throw new SqlError(`invalid column specification '${entry.trim()}': expected NAME TYPE type${fixed ? ' START n [FOR m]' : ''}`, pos);
    if (fixed && m[4] === undefined) throw new SqlError(`column '${m[1]}' needs START n [FOR m]`, pos);
    if (!fixed && m[4] !== undefined) throw new SqlError(`START of column '${m[1]}' is for FIXED_COLUMN_LOG_PARSE`, pos);
    const name = m[1]!.startsWith('"') ? m[1]!.slice(1, -1) : m[1]!.toUpperCase();
    let type: SqlType;
    try {
      type = typeFromSpec(parseTypeString(m[2]!));
    } catch (err) {
      throw new SqlError(`invalid column type '${m[2]}': ${(err as Error).message}`, pos);
    }
    if (m[3] !== undefined && type.kind !== 'DATE' && type.kind !== 'TIME' && type.kind !== 'TIMESTAMP') throw new SqlError(`a format is for DATE, TIME and TIMESTAMP columns, not ${m[2]} (column '${name}')`, pos);
    fields.push({ name, type });
    formats.push(m[3] ?? null);
    if (fixed) spans.push([Number(m[4]), m[5] === undefined ? null : Number(m[5])]);
  }
  return { type: { kind: 'ROW', fields }, spans, formats };
}

function fromText(text: string | null, type: SqlType, format: string | null | undefined): unknown {
  if (text === null) return null;
  if (format) {
    const t = parseWithPattern(format, text);
    if (t === null) return runtimeError('Type_Conversion_Error', `cannot parse '${text}' with format '${format}'`);
    return castValue(t, T.timestamp, type);
  }
  return castValue(text, T.varchar(), type);
}

/** VARIABLE_COLUMN_LOG_PARSE(s, columns, delimiter [, escape [, quote]]). */
export function variableColumnLogParse(s: string, type: RowType, delimiter: string, escape: string | null, quote: string | null, formats: Array<string | null> = []): unknown[] {
  const parts: string[] = [];
  let cur = '';
  let inQuote = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (escape && c === escape && i + 1 < s.length) {
      cur += s[++i];
      continue;
    }
    // <quote-string>: one character opens and closes a quoted part; of two, the first opens and the second closes.
    if (quote && (inQuote ? c === (quote[1] ?? quote[0]) : c === quote[0])) {
      inQuote = !inQuote;
      continue;
    }
    if (!inQuote && s.startsWith(delimiter, i)) {
      parts.push(cur);
      cur = '';
      i += delimiter.length - 1;
      continue;
    }
    cur += c;
  }
  parts.push(cur);
  return type.fields.map((f, k) => fromText(parts[k] ?? null, f.type, formats[k]));
}

export function fixedColumnLogParse(s: string, type: RowType, spans: Array<[number, number | null]>, formats: Array<string | null> = []): unknown[] {
  return type.fields.map((f, k) => {
    const [start, length] = spans[k]!;
    return start >= s.length ? null : fromText((length === null ? s.slice(start) : s.substr(start, length)).trim(), f.type, formats[k]);
  });
}

export const sysLogRowType: RowType = { kind: 'ROW', fields: [{ name: 'COLUMN1', type: T.timestamp }, { name: 'COLUMN2', type: T.varchar() }] };

/** SYS_LOG_PARSE: `Mon DD HH:MM:SS rest`; the timestamp has no year, so it is 1970 as Java's SimpleDateFormat gives. */
export function sysLogParse(s: string): unknown[] | null {
  const m = /^([A-Z][a-z]{2})\s+(\d{1,2}) (\d{2}:\d{2}:\d{2})\s?(.*)$/s.exec(s);
  if (!m) return null;
  return [parseWithPattern('MMM d HH:mm:ss', `${m[1]} ${Number(m[2])} ${m[3]}`), m[4]];
}
