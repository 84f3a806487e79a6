/**
 * String functions and pattern matching (sqlref/sql-reference-string-and-search-functions.html):
 * POSITION, SUBSTRING, TRIM, OVERLAY, INITCAP, REGEX_REPLACE, LIKE and
 * SIMILAR TO. Positions are 1-based, as in SQL. Java regular expressions are
 * translated to JavaScript ones where they differ in the common cases
 * (POSIX classes `\p{Alpha}`, possessive quantifiers are refused).
 */
import { runtimeError } from '../sql/errors.ts';

export function position(needle: string, haystack: string): number {
  return haystack.indexOf(needle) + 1;
}

/** SUBSTRING(s FROM start [FOR length]) per SQL:2008: positions before 1 count against the length. */
export function substring(s: string, start: number, length?: number | null): string {
  if (length !== undefined && length !== null && length < 0) return runtimeError('Invalid_Argument', `negative substring length ${length}`);
  const from = Math.max(start, 1);
  const to = length === undefined || length === null ? s.length + 1 : start + length;
  if (to <= from) return '';
  return s.slice(from - 1, to - 1);
}

export function trim(where: 'BOTH' | 'LEADING' | 'TRAILING', chars: string, s: string): string {
  if (chars.length !== 1) return runtimeError('Invalid_Argument', `TRIM characters must be a single character (got '${chars}')`);
  let a = 0;
  let b = s.length;
  if (where !== 'TRAILING') while (a < b && s[a] === chars) a++;
  if (where !== 'LEADING') while (b > a && s[b - 1] === chars) b--;
  return s.slice(a, b);
}

export function overlay(s: string, r: string, from: number, length?: number | null): string {
  const n = length === undefined || length === null ? r.length : length;
  return s.slice(0, Math.max(0, from - 1)) + r + s.slice(Math.max(0, from - 1 + n));
}

/** INITCAP: the first letter of each word upper case, the rest lower case; words are runs of letters and digits. */
export function initcap(s: string): string {
  return s.toLowerCase().replace(/(^|[^\p{L}\p{N}])(\p{L})/gu, (_, sep: string, c: string) => sep + c.toUpperCase());
}

const posixClasses: Record<string, string> = {
  Lower: 'a-z',
  Upper: 'A-Z',
  ASCII: '\\x00-\\x7F',
  Alpha: 'a-zA-Z',
  Digit: '0-9',
  Alnum: 'a-zA-Z0-9',
  Punct: '!-\\/:-@\\[-`{-~',
  Graph: '!-~',
  Print: ' -~',
  Blank: ' \\t',
  Cntrl: '\\x00-\\x1F\\x7F',
  XDigit: '0-9a-fA-F',
  Space: ' \\t\\n\\x0B\\f\\r',
};

const regexCache = new Map<string, RegExp>();
const regexCacheMax = 256;

/** A JavaScript RegExp for a Java pattern (cached; patterns are nearly always literals). */
export function javaRegex(pattern: string, flags = ''): RegExp {
  const key = flags + '\u0000' + pattern;
  const hit = regexCache.get(key);
  if (hit) return hit;
  if (/[*+?}][+]/.test(pattern.replace(/\\./g, ''))) return runtimeError('Invalid_Argument', `possessive quantifiers are not supported in '${pattern}'`);
  const source = pattern
    .replace(/\\p\{(Lower|Upper|ASCII|Alpha|Digit|Alnum|Punct|Graph|Print|Blank|Cntrl|XDigit|Space)\}/g, (_, c: string) => `[${posixClasses[c]}]`)
    .replace(/\\P\{(Lower|Upper|ASCII|Alpha|Digit|Alnum|Punct|Graph|Print|Blank|Cntrl|XDigit|Space)\}/g, (_, c: string) => `[^${posixClasses[c]}]`)
    .replace(/\\A/g, '^')
    .replace(/\\[zZ]/g, '$');
  let re: RegExp;
  try {
    re = new RegExp(source, flags);
  } catch (err) {
    return runtimeError('Invalid_Argument', `invalid regular expression '${pattern}': ${(err as Error).message}`);
  }
  if (regexCache.size >= regexCacheMax) regexCache.clear();
  regexCache.set(key, re);
  return re;
}

/** Java's replacement syntax (`$1`, `\$` for a dollar) in JavaScript's (`$1`, `$$`). */
function javaReplacement(rep: string): string {
  return rep.replace(/\\(.)|\$(\d+)|\$/g, (m, escaped: string | undefined, group: string | undefined) => {
    if (escaped !== undefined) return escaped === '$' ? '$$' : escaped;
    if (group !== undefined) return '$' + group;
    return runtimeError('Invalid_Argument', `illegal group reference in replacement '${rep}'`);
  });
}

/**
 * REGEX_REPLACE(str, regex, replacement, startPosition, occurrence): replace
 * the occurrence-th match at or after startPosition (1-based), or every match
 * when occurrence is 0 (sqlref/sql-reference-regex-replace.html).
 */
export function regexReplace(s: string, pattern: string, rep: string, start: number, occurrence: number): string {
  if (start < 1) return runtimeError('Invalid_Argument', `REGEX_REPLACE start position must be at least 1 (got ${start})`);
  if (occurrence < 0) return runtimeError('Invalid_Argument', `REGEX_REPLACE occurrence must be at least 0 (got ${occurrence})`);
  if (start > s.length) return s;
  const head = s.slice(0, start - 1);
  const tail = s.slice(start - 1);
  const replacement = javaReplacement(rep);
  const re = javaRegex(pattern, 'g');
  if (occurrence === 0) return head + tail.replace(re, replacement);
  let n = 0;
  return head + tail.replace(re, (...m: unknown[]) => {
    n++;
    if (n !== occurrence) return m[0] as string;
    const groups = m.slice(1, -2) as string[];
    return replacement.replace(/\$\$|\$(\d+)/g, (r, g: string | undefined) => (g === undefined ? '$' : groups[Number(g) - 1] ?? ''));
  });
}

const likeCache = new Map<string, RegExp>();

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** LIKE: `%` any run, `_` one character, optional ESCAPE character. */
export function like(s: string, pattern: string, escape?: string | null): boolean {
  const key = `L${escape ?? ''}\u0000${pattern}`;
  let re = likeCache.get(key);
  if (!re) {
    let src = '';
    for (let i = 0; i < pattern.length; i++) {
      const c = pattern[i]!;
      if (escape && c === escape) {
        const n = pattern[++i];
        if (n === undefined) return runtimeError('Invalid_Argument', `LIKE pattern '${pattern}' ends with the escape character`);
        src += escapeRe(n);
      } else if (c === '%') src += '[\\s\\S]*';
      else if (c === '_') src += '[\\s\\S]';
      else src += escapeRe(c);
    }
    re = new RegExp(`^${src}$`);
    if (likeCache.size >= regexCacheMax) likeCache.clear();
    likeCache.set(key, re);
  }
  return re.test(s);
}

/** SIMILAR TO: SQL regular expressions (`%`, `_`, `|`, `*`, `+`, `?`, `{m,n}`, `[...]`, `( )`), anchored. */
export function similar(s: string, pattern: string, escape?: string | null): boolean {
  const key = `S${escape ?? ''}\u0000${pattern}`;
  let re = likeCache.get(key);
  if (!re) {
    let src = '';
    for (let i = 0; i < pattern.length; i++) {
      const c = pattern[i]!;
      if (escape && c === escape) src += escapeRe(pattern[++i] ?? '');
      else if (c === '%') src += '[\\s\\S]*';
      else if (c === '_') src += '[\\s\\S]';
      else if ('|*+?{}()[]'.includes(c)) src += c;
      else if (c === ',' || /[0-9]/.test(c)) src += c;
      else src += escapeRe(c);
    }
    try {
      re = new RegExp(`^(?:${src})$`);
    } catch {
      return runtimeError('Invalid_Argument', `invalid SIMILAR TO pattern '${pattern}'`);
    }
    if (likeCache.size >= regexCacheMax) likeCache.clear();
    likeCache.set(key, re);
  }
  return re.test(s);
}
