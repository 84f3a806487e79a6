/**
 * The Redshift destination's COPY, as far as a PostgreSQL table needs it
 * (pure: no sockets, files or clocks). Parses the subset of COPY options
 * that changes how an object's bytes become rows (Amazon Redshift Database
 * Developer Guide, "COPY parameter reference"), checks table and column
 * names, maps a Redshift JDBC URL to its config key, and turns an object's
 * text into rows for `INSERT INTO <table> (<columns>) VALUES ...`.
 *
 * Options outside the subset are refused when the delivery stream is
 * created, so a load never fails on an option it cannot honour.
 */
import { AwsError } from '../../sdk/protocol/errors.ts';

export type CopyFormat = { kind: 'json' } | { kind: 'csv'; quote: string } | { kind: 'delimited' };

export interface CopySpec {
  format: CopyFormat;
  /** Field separator for CSV (default `,`) and delimited text (default `|`, Redshift's default). */
  delimiter: string;
  gzip: boolean;
  /** `auto` (PostgreSQL parses the text), `epochsecs` or `epochmillisecs` (numbers become timestamps). */
  timeFormat: 'auto' | 'epochsecs' | 'epochmillisecs';
  /** Lines skipped at the start of each object. */
  ignoreHeader: number;
  /** Delimited text: this field text loads as NULL (Redshift's default `\N`). */
  nullAs: string;
  emptyAsNull: boolean;
  blanksAsNull: boolean;
  trimBlanks: boolean;
  /** Delimited text: a backslash escapes the next character. */
  escape: boolean;
  /** Delimited text: surrounding double quotes are removed. */
  removeQuotes: boolean;
  /** Missing trailing fields load as NULL instead of failing the object. */
  fillRecord: boolean;
}

/** Options accepted and ignored because they only tune Redshift itself. */
const noOps = new Set(['COMPUPDATE', 'STATUPDATE']);

interface Token {
  word?: string;
  text?: string;
}

function tokenize(options: string): Token[] {
  const out: Token[] = [];
  const re = /\s*(?:'((?:[^'\\]|\\.|'')*)'|([A-Za-z_][A-Za-z0-9_]*|\d+)|(;)|(\S))/gy;
  let m: RegExpExecArray | null;
  let at = 0;
  while ((m = re.exec(options))) {
    at = re.lastIndex;
    if (m[1] !== undefined) out.push({ text: m[1].replace(/''/g, "'").replace(/\\(.)/g, (_a, c: string) => (c === 't' ? '\t' : c)) });
    else if (m[2] !== undefined) out.push({ word: m[2].toUpperCase() });
    else if (m[3] !== undefined) continue;
    else throw bad(`unexpected ${JSON.stringify(m[4])}`);
  }
  if (options.slice(at).trim() !== '') throw bad(`cannot parse ${JSON.stringify(options.slice(at))}`);
  return out;
}

function bad(detail: string): AwsError {
  return new AwsError('InvalidArgumentException', `CopyCommand.CopyOptions ${detail}; this gateway supports JSON 'auto', CSV [QUOTE 'c'], DELIMITER 'c', GZIP, TIMEFORMAT 'auto'|'epochsecs'|'epochmillisecs', DATEFORMAT 'auto', IGNOREHEADER n, NULL AS 's', EMPTYASNULL, BLANKSASNULL, TRIMBLANKS, ESCAPE, REMOVEQUOTES, FILLRECORD, COMPUPDATE, STATUPDATE.`);
}

/** Parses CopyOptions; throws InvalidArgumentException naming what it cannot honour. */
export function parseCopyOptions(options: string | undefined): CopySpec {
  const spec: CopySpec = {
    format: { kind: 'delimited' }, delimiter: '', gzip: false, timeFormat: 'auto', ignoreHeader: 0, nullAs: '\\N',
    emptyAsNull: false, blanksAsNull: false, trimBlanks: false, escape: false, removeQuotes: false, fillRecord: false,
  };
  const t = tokenize(options ?? '');
  let i = 0;
  const text = (what: string): string => {
    if (t[i]?.word === 'AS') i++;
    const v = t[i++]?.text;
    if (v === undefined) throw bad(`needs a quoted value after ${what}`);
    return v;
  };
  while (i < t.length) {
    const tok = t[i++]!;
    const w = tok.word;
    if (w === undefined) throw bad(`has an unexpected value '${tok.text}'`);
    if (w === 'JSON' || w === 'FORMAT') {
      if (w === 'FORMAT') {
        if (t[i]?.word === 'AS') i++;
        const f = t[i++]?.word;
        if (f === 'CSV') {
          spec.format = { kind: 'csv', quote: '"' };
          continue;
        }
        if (f !== 'JSON') throw bad(`names format ${f ?? '(none)'}`);
      }
      const arg = t[i]?.text !== undefined || t[i]?.word === 'AS' ? text('JSON').toLowerCase() : 'auto';
      if (arg !== 'auto' && arg !== 'auto ignorecase') throw bad(`JSON '${arg}' is not supported (jsonpaths files and noshred are not)`);
      spec.format = { kind: 'json' };
    } else if (w === 'CSV') spec.format = { kind: 'csv', quote: '"' };
    else if (w === 'QUOTE') {
      const q = text('QUOTE');
      if (q.length !== 1 || spec.format.kind !== 'csv') throw bad('QUOTE needs CSV before it and one character');
      spec.format = { kind: 'csv', quote: q };
    } else if (w === 'DELIMITER') {
      const d = text('DELIMITER');
      if (d.length !== 1) throw bad(`DELIMITER must be one character (got '${d}')`);
      spec.delimiter = d;
    } else if (w === 'GZIP') spec.gzip = true;
    else if (w === 'TIMEFORMAT') {
      const f = text('TIMEFORMAT').toLowerCase();
      if (f !== 'auto' && f !== 'epochsecs' && f !== 'epochmillisecs') throw bad(`TIMEFORMAT '${f}' is not supported`);
      spec.timeFormat = f;
    } else if (w === 'DATEFORMAT') {
      const f = text('DATEFORMAT').toLowerCase();
      if (f !== 'auto') throw bad(`DATEFORMAT '${f}' is not supported`);
    } else if (w === 'IGNOREHEADER') {
      if (t[i]?.word === 'AS') i++;
      const n = Number(t[i++]?.word);
      if (!Number.isSafeInteger(n) || n < 0) throw bad('IGNOREHEADER needs a number of lines');
      spec.ignoreHeader = n;
    } else if (w === 'NULL') spec.nullAs = text('NULL');
    else if (w === 'EMPTYASNULL') spec.emptyAsNull = true;
    else if (w === 'BLANKSASNULL') spec.blanksAsNull = true;
    else if (w === 'TRIMBLANKS') spec.trimBlanks = true;
    else if (w === 'ESCAPE') spec.escape = true;
    else if (w === 'REMOVEQUOTES') spec.removeQuotes = true;
    else if (w === 'FILLRECORD') spec.fillRecord = true;
    else if (noOps.has(w)) {
      const v = t[i]?.word;
      if (v === 'ON' || v === 'OFF' || v === 'TRUE' || v === 'FALSE' || v === 'PRESET') i++;
    } else throw bad(`option ${w} is not supported`);
  }
  if (spec.format.kind === 'json' && (spec.escape || spec.removeQuotes || spec.delimiter)) throw bad('mixes JSON with delimited-text options');
  if (spec.format.kind === 'csv' && (spec.escape || spec.removeQuotes)) throw bad('mixes CSV with ESCAPE or REMOVEQUOTES');
  if (!spec.delimiter) spec.delimiter = spec.format.kind === 'csv' ? ',' : '|';
  return spec;
}

/** An identifier as Redshift takes it: unquoted (folded to lower case) or double-quoted. */
const identifier = /^(?:[A-Za-z_][A-Za-z0-9_$]*|"(?:[^"]|"")+")$/;

/** `schema.table` or `table`, checked; the parts are emitted as written (PostgreSQL folds case as Redshift does). */
export function parseTableName(name: string): string[] {
  const parts = name.trim().match(/"(?:[^"]|"")+"|[^.]+/g) ?? [];
  if (parts.length < 1 || parts.length > 2 || parts.join('.') !== name.trim() || !parts.every((p) => identifier.test(p))) {
    throw new AwsError('InvalidArgumentException', `CopyCommand.DataTableName ${JSON.stringify(name)} is not a table name this gateway can load ([schema.]table, letters, digits, _ and $, or double-quoted).`);
  }
  return parts;
}

/** DataTableColumns ("a, b, c"), checked; empty when not given (then the table's columns in order). */
export function parseColumns(columns: string | undefined): string[] {
  if (columns === undefined || columns.trim() === '') return [];
  const out = columns.split(',').map((c) => c.trim());
  for (const c of out) {
    if (!identifier.test(c)) throw new AwsError('InvalidArgumentException', `CopyCommand.DataTableColumns has ${JSON.stringify(c)}, which is not a column name.`);
  }
  if (new Set(out.map(columnKey)).size !== out.length) throw new AwsError('InvalidArgumentException', 'CopyCommand.DataTableColumns names a column twice.');
  return out;
}

/** A column's name as the database stores it: unquoted names fold to lower case. */
export function columnKey(c: string): string {
  return c.startsWith('"') ? c.slice(1, -1).replace(/""/g, '"') : c.toLowerCase();
}

/** The gateway config key for a JDBC URL: the URL itself, without `?parameters`. */
export function jdbcKey(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

export interface ColumnInfo {
  name: string;
  /** information_schema data_type, lower case ("integer", "timestamp without time zone", ...). */
  type: string;
}

/** One row: a text value (PostgreSQL casts it to the column's type) or null. */
export type Row = Array<string | null>;

/** Turns an object's text into rows for `columns`; throws (failing the object) on what COPY would reject. */
export function rowsOf(text: string, spec: CopySpec, columns: readonly ColumnInfo[]): Row[] {
  const body = skipLines(text, spec.ignoreHeader);
  if (spec.format.kind === 'json') return jsonValues(body).map((v, n) => jsonRow(v, n, spec, columns));
  const records = spec.format.kind === 'csv' ? csvRecords(body, spec.delimiter, spec.format.quote) : delimitedRecords(body, spec);
  return records.map((fields, n) => {
    if (fields.length > columns.length) throw new Error(`line ${n + 1}: extra column(s) found (${fields.length} fields for ${columns.length} columns)`);
    if (fields.length < columns.length && !spec.fillRecord) throw new Error(`line ${n + 1}: delimiter not found (${fields.length} fields for ${columns.length} columns)`);
    return columns.map((c, k) => convert(fields[k] ?? null, c, spec));
  });
}

function skipLines(text: string, n: number): string {
  let at = 0;
  for (let k = 0; k < n && at < text.length; k++) {
    const nl = text.indexOf('\n', at);
    at = nl < 0 ? text.length : nl + 1;
  }
  return text.slice(at);
}

/** Field text after NULL AS / EMPTYASNULL / BLANKSASNULL / TRIMBLANKS; `quoted` fields are never the NULL marker. */
function convert(v: string | null | { quoted: string }, c: ColumnInfo, spec: CopySpec): string | null {
  if (v === null) return null;
  const quoted = typeof v === 'object';
  let s = quoted ? v.quoted : v;
  if (!quoted && s === spec.nullAs) return null;
  if (spec.trimBlanks) s = s.trimEnd();
  if (s === '' && (spec.emptyAsNull || (!quoted && !isText(c)))) return null;
  if (spec.blanksAsNull && s !== '' && s.trim() === '') return null;
  return epoch(s, c, spec);
}

function isText(c: ColumnInfo): boolean {
  return /char|text/.test(c.type);
}

function epoch(s: string, c: ColumnInfo, spec: CopySpec): string {
  if (spec.timeFormat === 'auto' || !c.type.startsWith('timestamp') || !/^-?\d+(\.\d+)?$/.test(s)) return s;
  const ms = Number(s) * (spec.timeFormat === 'epochsecs' ? 1000 : 1);
  return new Date(ms).toISOString();
}

function jsonRow(v: unknown, n: number, spec: CopySpec, columns: readonly ColumnInfo[]): Row {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`JSON value ${n + 1} is not an object`);
  // JSON 'auto': fields match columns by name; as with 'auto ignorecase', case does not matter (an exact match wins).
  const obj = v as Record<string, unknown>;
  const lower = new Map<string, unknown>();
  for (const [k, x] of Object.entries(obj)) if (!lower.has(k.toLowerCase())) lower.set(k.toLowerCase(), x);
  return columns.map((c) => {
    const x = Object.hasOwn(obj, c.name) ? obj[c.name] : lower.get(c.name.toLowerCase());
    if (x === undefined || x === null) return null;
    const s = typeof x === 'object' ? JSON.stringify(x) : String(x);
    return convert(s === '' ? { quoted: s } : s, c, { ...spec, nullAs: '\u0000' });
  });
}

/** Top-level JSON values, concatenated with or without whitespace between them (as COPY JSON reads them). */
export function jsonValues(text: string): unknown[] {
  const out: unknown[] = [];
  let i = 0;
  while (i < text.length) {
    while (i < text.length && /\s/.test(text[i]!)) i++;
    if (i >= text.length) break;
    const start = i;
    if (text[i] !== '{' && text[i] !== '[') throw new Error(`invalid JSON at offset ${i}: expected an object`);
    let depth = 0;
    let inString = false;
    for (; i < text.length; i++) {
      const ch = text[i]!;
      if (inString) {
        if (ch === '\\') i++;
        else if (ch === '"') inString = false;
      } else if (ch === '"') inString = true;
      else if (ch === '{' || ch === '[') depth++;
      else if (ch === '}' || ch === ']') {
        if (--depth === 0) {
          i++;
          break;
        }
      }
    }
    if (depth !== 0) throw new Error(`invalid JSON at offset ${start}: unterminated value`);
    try {
      out.push(JSON.parse(text.slice(start, i)));
    } catch (err) {
      throw new Error(`invalid JSON at offset ${start}: ${(err as Error).message}`);
    }
  }
  return out;
}

/** CSV (RFC 4180 with the given delimiter and quote); a quoted field keeps its text even when empty. */
export function csvRecords(text: string, delimiter: string, quote: string): Array<Array<string | { quoted: string }>> {
  const out: Array<Array<string | { quoted: string }>> = [];
  let fields: Array<string | { quoted: string }> = [];
  let i = 0;
  let lineStart = true;
  while (i < text.length) {
    if (lineStart && (text[i] === '\n' || (text[i] === '\r' && text[i + 1] === '\n'))) {
      i += text[i] === '\r' ? 2 : 1; // blank lines hold no record
      continue;
    }
    lineStart = false;
    let field: string | { quoted: string };
    if (text[i] === quote) {
      let s = '';
      i++;
      for (;;) {
        if (i >= text.length) throw new Error('unterminated quoted CSV field');
        if (text[i] === quote) {
          if (text[i + 1] === quote) {
            s += quote;
            i += 2;
            continue;
          }
          i++;
          break;
        }
        s += text[i++];
      }
      field = { quoted: s };
    } else {
      let j = i;
      while (j < text.length && text[j] !== delimiter && text[j] !== '\n' && !(text[j] === '\r' && text[j + 1] === '\n')) j++;
      field = text.slice(i, j);
      i = j;
    }
    fields.push(field);
    if (i >= text.length || text[i] === '\n' || text[i] === '\r') {
      out.push(fields);
      fields = [];
      lineStart = true;
      i += text[i] === '\r' ? 2 : 1;
    } else if (text[i] === delimiter) {
      i++;
      if (i >= text.length) {
        fields.push('');
        out.push(fields);
      }
    } else throw new Error(`unexpected character after quoted CSV field at offset ${i}`);
  }
  return out;
}

/** Delimited text (Redshift's default format): one record per line, with ESCAPE and REMOVEQUOTES. */
function delimitedRecords(text: string, spec: CopySpec): Array<Array<string | { quoted: string }>> {
  const out: Array<Array<string | { quoted: string }>> = [];
  let fields: Array<string | { quoted: string }> = [];
  let cur = '';
  let escaped = false;
  const endField = () => {
    if (!escaped && spec.removeQuotes && cur.length >= 2 && cur.startsWith('"') && cur.endsWith('"')) fields.push({ quoted: cur.slice(1, -1) });
    else fields.push(escaped && cur !== spec.nullAs ? { quoted: cur } : cur);
    cur = '';
    escaped = false;
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (spec.escape && ch === '\\' && i + 1 < text.length) {
      const next = text[++i]!;
      cur += next === 'N' && cur === '' ? '\\N' : next;
      escaped = escaped || next !== 'N';
    } else if (ch === spec.delimiter) endField();
    else if (ch === '\n') {
      if (cur === '' && fields.length === 0) continue; // blank line
      endField();
      out.push(fields);
      fields = [];
    } else if (!(ch === '\r' && text[i + 1] === '\n')) cur += ch;
  }
  if (cur !== '' || fields.length) {
    endField();
    out.push(fields);
  }
  return out;
}
