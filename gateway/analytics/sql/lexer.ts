/**
 * Lexer for the KDA SQL dialect (SQLstream's streaming SQL). Pure: a string
 * in, tokens with their positions out.
 *
 * - Unquoted identifiers and keywords are one token kind, `ident`, with the
 *   text upper-cased (SQL identifier rules: `ticker_symbol` is TICKER_SYMBOL);
 *   the parser decides which are keywords.
 * - `"quoted identifiers"` keep their case; `""` inside is one quote.
 * - `'strings'` with `''` for a quote; `X'3F67'` binary literals; adjacent
 *   string literals separated by whitespace are not concatenated (SQL:2008
 *   allows it only across a newline; nobody writes it).
 * - Numbers: `12`, `12.5`, `.5`, `1e3`, `1.5E-3`.
 * - Comments: `-- to end of line` and `/* block *\/`.
 */
import { SqlError, type SourcePos } from './errors.ts';

export type TokenKind = 'ident' | 'qident' | 'string' | 'binary' | 'number' | 'op' | 'eof';

export interface Token extends SourcePos {
  kind: TokenKind;
  /** Upper-cased for `ident`, unescaped for `qident`/`string`, hex digits for `binary`, the text otherwise. */
  value: string;
  /** Offset just past the token. */
  end: number;
}

/** Application code longer than this is refused (the API caps ApplicationCode at 102,400 bytes). */
export const sqlCodeLengthMax = 102_400;

const twoCharOps = new Set(['<>', '<=', '>=', '!=', '||', '=>']);
const oneCharOps = new Set(['(', ')', ',', ';', '.', '+', '-', '*', '/', '%', '=', '<', '>', '[', ']', '?', ':']);

const isIdentStart = (c: string) => /[A-Za-z_\u00C0-\uFFFF]/.test(c);
const isIdentPart = (c: string) => /[A-Za-z0-9_$#\u00C0-\uFFFF]/.test(c);
const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';

export function tokenize(code: string): Token[] {
  if (code.length > sqlCodeLengthMax) throw new SqlError(`application code is longer than ${sqlCodeLengthMax} characters`, { line: 1, column: 1, offset: 0 });
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const pos = (at: number): SourcePos => ({ line, column: at - lineStart + 1, offset: at });
  const newline = (at: number) => {
    line++;
    lineStart = at + 1;
  };
  while (i < code.length) {
    const c = code[i]!;
    if (c === '\n') {
      newline(i);
      i++;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f') {
      i++;
      continue;
    }
    if (c === '-' && code[i + 1] === '-') {
      while (i < code.length && code[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && code[i + 1] === '*') {
      const start = pos(i);
      const close = code.indexOf('*/', i + 2);
      if (close < 0) throw new SqlError('unterminated comment', start);
      for (let j = i; j < close; j++) if (code[j] === '\n') newline(j);
      i = close + 2;
      continue;
    }
    const start = pos(i);
    if ((c === 'X' || c === 'x') && code[i + 1] === "'") {
      const [text, next] = quoted(code, i + 1, "'", start);
      if (!/^[0-9A-Fa-f]*$/.test(text) || text.length % 2 !== 0) throw new SqlError(`invalid binary literal X'${text}'`, start);
      tokens.push({ kind: 'binary', value: text.toUpperCase(), ...start, end: next });
      i = next;
      continue;
    }
    if (isIdentStart(c)) {
      let j = i + 1;
      while (j < code.length && isIdentPart(code[j]!)) j++;
      tokens.push({ kind: 'ident', value: code.slice(i, j).toUpperCase(), ...start, end: j });
      i = j;
      continue;
    }
    if (c === '"') {
      const [text, next] = quoted(code, i, '"', start);
      if (text.length === 0) throw new SqlError('zero-length delimited identifier', start);
      tokens.push({ kind: 'qident', value: text, ...start, end: next });
      i = next;
      continue;
    }
    if (c === "'") {
      const [text, next] = quoted(code, i, "'", start);
      for (let j = i; j < next; j++) if (code[j] === '\n') newline(j);
      tokens.push({ kind: 'string', value: text, ...start, end: next });
      i = next;
      continue;
    }
    if (isDigit(c) || (c === '.' && isDigit(code[i + 1]))) {
      const m = /^(\d*\.?\d*)([eE][+-]?\d+)?/.exec(code.slice(i, i + 400))!;
      const text = m[0];
      if (isIdentStart(code[i + text.length] ?? ' ')) throw new SqlError(`invalid number "${text}${code[i + text.length]}"`, start);
      tokens.push({ kind: 'number', value: text, ...start, end: i + text.length });
      i += text.length;
      continue;
    }
    const two = code.slice(i, i + 2);
    if (twoCharOps.has(two)) {
      tokens.push({ kind: 'op', value: two, ...start, end: i + 2 });
      i += 2;
      continue;
    }
    if (oneCharOps.has(c)) {
      tokens.push({ kind: 'op', value: c, ...start, end: i + 1 });
      i++;
      continue;
    }
    throw new SqlError(`unexpected character '${c}'`, start);
  }
  tokens.push({ kind: 'eof', value: '', ...pos(i), end: i });
  return tokens;
}

/** Reads a quoted run starting at `code[at] === quote`; a doubled quote is one quote. */
function quoted(code: string, at: number, quote: string, start: SourcePos): [string, number] {
  let out = '';
  let j = at + 1;
  for (;;) {
    const k = code.indexOf(quote, j);
    if (k < 0) throw new SqlError(quote === '"' ? 'unterminated quoted identifier' : 'unterminated string literal', start);
    out += code.slice(j, k);
    if (code[k + 1] === quote) {
      out += quote;
      j = k + 2;
      continue;
    }
    return [out, k + 1];
  }
}
