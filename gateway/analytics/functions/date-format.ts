/**
 * Java `SimpleDateFormat` patterns, which TIMESTAMP_TO_CHAR, CHAR_TO_TIMESTAMP
 * and their DATE/TIME siblings take (sqlref/sql-reference-char-to-timestamp.html:
 * "the format ... uses the Java SimpleDateFormat class"). UTC, English names.
 *
 * Letters: G y Y M L d D E u F a H k K h m s S w W z Z X; `'text'` quotes, `''`
 * is a quote. Other ASCII letters are refused, as Java refuses them. Parsing
 * follows Java's rules for numbers: a numeric field followed directly by
 * another numeric field ("yyyyMMdd") takes exactly its width, otherwise as
 * many digits as there are; `yy` reads two digits into 1950..2049 relative to
 * 2000 (Java uses now-80..now+20; a fixed pivot keeps results reproducible).
 */
import { runtimeError } from '../sql/errors.ts';

type Part = { kind: 'literal'; text: string } | { kind: 'field'; letter: string; count: number };

const monthsLong = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const daysLong = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const fieldLetters = new Set('GyYMLdDEuFaHkKhmsSwWzZX'.split(''));
const numericLetters = new Set('yYMLdDuFHkKhmsSwW'.split(''));

/** Patterns compiled once per distinct text (they are almost always literals in the SQL). */
const cache = new Map<string, Part[]>();
const cacheMax = 256;

export function compilePattern(pattern: string): Part[] {
  const hit = cache.get(pattern);
  if (hit) return hit;
  const parts: Part[] = [];
  let i = 0;
  const literal = (text: string) => {
    const last = parts[parts.length - 1];
    if (last?.kind === 'literal') last.text += text;
    else parts.push({ kind: 'literal', text });
  };
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (c === "'") {
      if (pattern[i + 1] === "'") {
        literal("'");
        i += 2;
        continue;
      }
      const close = pattern.indexOf("'", i + 1);
      if (close < 0) return runtimeError('Invalid_Argument', `unterminated quote in date format '${pattern}'`);
      literal(pattern.slice(i + 1, close));
      i = close + 1;
      continue;
    }
    if (/[A-Za-z]/.test(c)) {
      if (!fieldLetters.has(c)) return runtimeError('Invalid_Argument', `illegal pattern character '${c}' in date format '${pattern}'`);
      let j = i;
      while (pattern[j] === c) j++;
      parts.push({ kind: 'field', letter: c, count: j - i });
      i = j;
      continue;
    }
    literal(c);
    i++;
  }
  if (cache.size >= cacheMax) cache.clear();
  cache.set(pattern, parts);
  return parts;
}

const pad = (n: number, width: number) => (n < 0 ? '-' + String(-n).padStart(width, '0') : String(n).padStart(width, '0'));

function formatField(letter: string, count: number, d: Date): string {
  const h = d.getUTCHours();
  switch (letter) {
    case 'G':
      return d.getUTCFullYear() > 0 ? 'AD' : 'BC';
    case 'y':
    case 'Y':
      return count === 2 ? pad(d.getUTCFullYear() % 100, 2) : pad(d.getUTCFullYear(), count);
    case 'M':
    case 'L':
      if (count >= 4) return monthsLong[d.getUTCMonth()]!;
      if (count === 3) return monthsLong[d.getUTCMonth()]!.slice(0, 3);
      return pad(d.getUTCMonth() + 1, count);
    case 'd':
      return pad(d.getUTCDate(), count);
    case 'D':
      return pad(Math.floor((d.getTime() - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1, count);
    case 'E':
      return count >= 4 ? daysLong[d.getUTCDay()]! : daysLong[d.getUTCDay()]!.slice(0, 3);
    case 'u':
      return pad(d.getUTCDay() === 0 ? 7 : d.getUTCDay(), count);
    case 'F':
      return pad(Math.floor((d.getUTCDate() - 1) / 7) + 1, count);
    case 'a':
      return h < 12 ? 'AM' : 'PM';
    case 'H':
      return pad(h, count);
    case 'k':
      return pad(h === 0 ? 24 : h, count);
    case 'K':
      return pad(h % 12, count);
    case 'h':
      return pad(h % 12 === 0 ? 12 : h % 12, count);
    case 'm':
      return pad(d.getUTCMinutes(), count);
    case 's':
      return pad(d.getUTCSeconds(), count);
    case 'S':
      return pad(d.getUTCMilliseconds(), count);
    case 'w': {
      const jan1 = Date.UTC(d.getUTCFullYear(), 0, 1);
      return pad(Math.floor((Math.floor((d.getTime() - jan1) / 86_400_000) + new Date(jan1).getUTCDay()) / 7) + 1, count);
    }
    case 'W':
      return pad(Math.floor((d.getUTCDate() - 1 + new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1)).getUTCDay()) / 7) + 1, count);
    case 'z':
      return count >= 4 ? 'Coordinated Universal Time' : 'UTC';
    case 'Z':
      return '+0000';
    case 'X':
      return 'Z';
  }
  return '';
}

/** Formats ms since the epoch (UTC) with a SimpleDateFormat pattern. */
export function formatWithPattern(pattern: string, ms: number): string {
  const d = new Date(ms);
  let out = '';
  for (const p of compilePattern(pattern)) out += p.kind === 'literal' ? p.text : formatField(p.letter, p.count, d);
  return out;
}

interface Fields {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  ms: number;
  pm: boolean | undefined;
  hour12: boolean;
  offsetMs: number;
}

function matchName(text: string, at: number, names: string[]): [number, number] | null {
  for (let k = 0; k < names.length; k++) {
    for (const candidate of [names[k]!, names[k]!.slice(0, 3)]) {
      if (text.substr(at, candidate.length).toLowerCase() === candidate.toLowerCase()) return [k, at + candidate.length];
    }
  }
  return null;
}

/**
 * Parses `text` with a SimpleDateFormat pattern into ms since the epoch
 * (UTC). Fields the pattern lacks default to 1970-01-01 00:00:00.000, as in
 * Java. Returns null when the text does not match.
 */
export function parseWithPattern(pattern: string, text: string): number | null {
  const parts = compilePattern(pattern);
  const f: Fields = { year: 1970, month: 1, day: 1, hour: 0, minute: 0, second: 0, ms: 0, pm: undefined, hour12: false, offsetMs: 0 };
  let at = 0;
  for (let k = 0; k < parts.length; k++) {
    const p = parts[k]!;
    if (p.kind === 'literal') {
      if (text.substr(at, p.text.length) !== p.text) return null;
      at += p.text.length;
      continue;
    }
    const next = parts[k + 1];
    const abutting = next?.kind === 'field' && numericLetters.has(next.letter);
    const r = parseField(p.letter, p.count, text, at, abutting, f);
    if (r === null) return null;
    at = r;
  }
  if (at !== text.length) return null;
  let hour = f.hour;
  if (f.hour12 && f.pm !== undefined) hour = (hour % 12) + (f.pm ? 12 : 0);
  else if (f.pm && hour < 12) hour += 12;
  if (f.month < 1 || f.month > 12 || f.day < 1 || f.day > 31 || hour > 24 || f.minute > 59 || f.second > 59) return null;
  const t = new Date(0);
  t.setUTCFullYear(f.year, f.month - 1, f.day);
  t.setUTCHours(hour, f.minute, f.second, f.ms);
  return t.getTime() - f.offsetMs;
}

function parseField(letter: string, count: number, text: string, at: number, abutting: boolean, f: Fields): number | null {
  if ((letter === 'M' || letter === 'L') && count >= 3) {
    const m = matchName(text, at, monthsLong);
    if (!m) return null;
    f.month = m[0] + 1;
    return m[1];
  }
  if (letter === 'E') {
    const m = matchName(text, at, daysLong);
    return m ? m[1] : null;
  }
  if (letter === 'a') {
    const s = text.substr(at, 2).toUpperCase();
    if (s !== 'AM' && s !== 'PM') return null;
    f.pm = s === 'PM';
    return at + 2;
  }
  if (letter === 'G') return /^(AD|BC)/i.test(text.slice(at)) ? at + 2 : null;
  if (letter === 'z' || letter === 'Z' || letter === 'X') return parseZone(text, at, f);
  const m = (abutting ? new RegExp(`^[+-]?\\d{1,${count}}`) : /^[+-]?\d+/).exec(text.slice(at));
  if (!m) return null;
  let n = Number(m[0]);
  switch (letter) {
    case 'y':
    case 'Y':
      if (count <= 2 && m[0].length === 2) n += n < 50 ? 2000 : 1900;
      f.year = n;
      break;
    case 'M':
    case 'L':
      f.month = n;
      break;
    case 'd':
      f.day = n;
      break;
    case 'H':
      f.hour = n;
      break;
    case 'k':
      f.hour = n === 24 ? 0 : n;
      break;
    case 'K':
    case 'h':
      f.hour = n === 12 && letter === 'h' ? 0 : n;
      f.hour12 = true;
      break;
    case 'm':
      f.minute = n;
      break;
    case 's':
      f.second = n;
      break;
    case 'S':
      f.ms = n;
      break;
  }
  return at + m[0].length;
}

function parseZone(text: string, at: number, f: Fields): number | null {
  const rest = text.slice(at);
  const named = /^(Z|UTC|GMT)/i.exec(rest);
  const offset = /^([+-])(\d{2}):?(\d{2})?/.exec(rest.slice(named && named[0] !== 'Z' ? named[0].length : 0));
  if (offset) {
    f.offsetMs = (offset[1] === '-' ? -1 : 1) * (Number(offset[2]) * 3_600_000 + Number(offset[3] ?? 0) * 60_000);
    return at + (named && named[0] !== 'Z' ? named[0].length : 0) + offset[0].length;
  }
  return named ? at + named[0].length : null;
}
