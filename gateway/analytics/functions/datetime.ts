/**
 * Date and time arithmetic on the engine's representation (ms since the
 * epoch, UTC; DATE at midnight; TIME as ms since midnight): parsing and
 * printing the SQL literal forms, FLOOR/CEIL to a unit, STEP, EXTRACT and
 * calendar-aware month arithmetic. Pure functions; all times are UTC, as KDA's
 * are (dev/app-string-datetime-manipulation.html: "Returns the time ... (UTC)").
 */
import type { TimeUnit } from '../sql/ast.ts';
import { runtimeError } from '../sql/errors.ts';

export const msPerSecond = 1000;
export const msPerMinute = 60_000;
export const msPerHour = 3_600_000;
export const msPerDay = 86_400_000;

export const unitMs: Partial<Record<TimeUnit, number>> = { DAY: msPerDay, HOUR: msPerHour, MINUTE: msPerMinute, SECOND: msPerSecond, MILLISECOND: 1, WEEK: 7 * msPerDay };

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** `YYYY-MM-DD HH:MM:SS.sss` (UTC), the form the runner and the destinations print. */
export function formatTimestamp(ms: number): string {
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return String(ms);
  const y = d.getUTCFullYear();
  const year = y >= 0 && y <= 9999 ? pad(y, 4) : String(y);
  return `${year}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)} ${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}.${pad(d.getUTCMilliseconds(), 3)}`;
}

export function formatDate(ms: number): string {
  return formatTimestamp(ms).slice(0, 10);
}

export function formatTime(ms: number): string {
  return formatTimestamp(((ms % msPerDay) + msPerDay) % msPerDay).slice(11);
}

const dateRe = /^\s*(-?\d{1,4})-(\d{1,2})-(\d{1,2})/;
const timeRe = /^(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d+))?)?/;
const zoneRe = /^\s*(?:Z|UTC|([+-])(\d{2}):?(\d{2})?)?\s*$/i;

function utc(y: number, mo: number, d: number, h = 0, mi = 0, s = 0, ms = 0): number | null {
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return null;
  // setUTCFullYear, unlike Date.UTC, does not map years 0..99 to 1900..1999.
  const t = new Date(0);
  t.setUTCFullYear(y, mo - 1, d);
  if (t.getUTCDate() !== d) return null;
  t.setUTCHours(h, mi, s, ms);
  return t.getTime();
}

/** Fraction digits after the seconds' point, as milliseconds (extra digits are truncated: TIMESTAMP holds ms). */
const fractionMs = (digits: string | undefined) => (digits ? Number(digits.slice(0, 3).padEnd(3, '0')) : 0);

/**
 * A TIMESTAMP from text: `1992-02-14`, `1992-02-14 18:35:44.0`, and the ISO
 * forms Python and JavaScript write (`2018-08-01T20:17:20.797945`, with an
 * optional `Z` or offset, converted to UTC). `null` when it does not parse.
 */
export function parseTimestamp(text: string): number | null {
  const m = dateRe.exec(text);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  let rest = text.slice(m[0].length);
  if (rest.trim() === '') return utc(y, mo, d);
  if (rest[0] !== ' ' && rest[0] !== 'T' && rest[0] !== 't') return null;
  rest = rest.slice(1).trimStart();
  const t = timeRe.exec(rest);
  if (!t) return null;
  const z = zoneRe.exec(rest.slice(t[0].length));
  if (!z) return null;
  const base = utc(y, mo, d, Number(t[1]), Number(t[2]), Number(t[3] ?? 0), fractionMs(t[4]));
  if (base === null) return null;
  const offset = z[1] ? (z[1] === '-' ? -1 : 1) * (Number(z[2]) * msPerHour + Number(z[3] ?? 0) * msPerMinute) : 0;
  return base - offset;
}

export function parseDate(text: string): number | null {
  const m = dateRe.exec(text);
  if (!m || text.slice(m[0].length).trim() !== '') return null;
  return utc(Number(m[1]), Number(m[2]), Number(m[3]));
}

export function parseTime(text: string): number | null {
  const t = timeRe.exec(text.trim());
  if (!t || text.trim().length !== t[0].length) return null;
  const [h, mi, s] = [Number(t[1]), Number(t[2]), Number(t[3] ?? 0)];
  if (h > 23 || mi > 59 || s > 59) return null;
  return h * msPerHour + mi * msPerMinute + s * msPerSecond + fractionMs(t[4]);
}

/** Months since 1970-01 of a timestamp, and back. */
const monthsOf = (ms: number) => {
  const d = new Date(ms);
  return (d.getUTCFullYear() - 1970) * 12 + d.getUTCMonth();
};
const monthStart = (months: number) => Date.UTC(1970 + Math.floor(months / 12), ((months % 12) + 12) % 12, 1);

/** FLOOR(ts TO unit). */
export function floorTo(ms: number, unit: TimeUnit): number {
  switch (unit) {
    case 'YEAR':
      return Date.UTC(new Date(ms).getUTCFullYear(), 0, 1);
    case 'QUARTER': {
      const m = monthsOf(ms);
      return monthStart(m - (((m % 3) + 3) % 3));
    }
    case 'MONTH':
      return monthStart(monthsOf(ms));
    case 'WEEK': {
      // Weeks start on Sunday, as java.util.Calendar's default (US) locale has them.
      const day = Math.floor(ms / msPerDay) * msPerDay;
      return day - new Date(day).getUTCDay() * msPerDay;
    }
    default: {
      const step = unitMs[unit];
      if (!step) return runtimeError('Invalid_Argument', `cannot FLOOR a timestamp to ${unit}`);
      return Math.floor(ms / step) * step;
    }
  }
}

/** CEIL(ts TO unit): the smallest boundary at or after ts. */
export function ceilTo(ms: number, unit: TimeUnit): number {
  const f = floorTo(ms, unit);
  return f === ms ? ms : addUnit(f, unit, 1);
}

/** ts + n units, calendar-aware for months, quarters and years. */
export function addUnit(ms: number, unit: TimeUnit, n: number): number {
  if (unit === 'YEAR') return addMonths(ms, 12 * n);
  if (unit === 'QUARTER') return addMonths(ms, 3 * n);
  if (unit === 'MONTH') return addMonths(ms, n);
  return ms + n * unitMs[unit]!;
}

/** ts + n months; the day of month is clamped to the target month's length (2020-01-31 + 1 month = 2020-02-29). */
export function addMonths(ms: number, n: number): number {
  const d = new Date(ms);
  const months = d.getUTCFullYear() * 12 + d.getUTCMonth() + n;
  const y = Math.floor(months / 12);
  const mo = months - y * 12;
  const last = new Date(Date.UTC(y, mo + 1, 0)).getUTCDate();
  const t = new Date(Date.UTC(2000, mo, Math.min(d.getUTCDate(), last), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds()));
  t.setUTCFullYear(y);
  return t.getTime();
}

/** STEP(ts BY interval) for a day-time interval in ms. */
export function stepMs(ms: number, intervalMs: number): number {
  if (intervalMs <= 0) return runtimeError('Invalid_Argument', 'STEP interval must be positive');
  return Math.floor(ms / intervalMs) * intervalMs;
}

/** STEP(ts BY interval) for a year-month interval in months. */
export function stepMonths(ms: number, months: number): number {
  if (months <= 0) return runtimeError('Invalid_Argument', 'STEP interval must be positive');
  return monthStart(Math.floor(monthsOf(ms) / months) * months);
}

/** EXTRACT(unit FROM timestamp | date | time). */
export function extract(unit: TimeUnit, ms: number): number {
  const d = new Date(ms);
  switch (unit) {
    case 'YEAR':
      return d.getUTCFullYear();
    case 'QUARTER':
      return Math.floor(d.getUTCMonth() / 3) + 1;
    case 'MONTH':
      return d.getUTCMonth() + 1;
    case 'WEEK': {
      const jan1 = Date.UTC(d.getUTCFullYear(), 0, 1);
      return Math.floor((Math.floor(ms / msPerDay) - Math.floor(jan1 / msPerDay) + new Date(jan1).getUTCDay()) / 7) + 1;
    }
    case 'DAY':
      return d.getUTCDate();
    case 'DOW':
      return d.getUTCDay() + 1;
    case 'DOY':
      return Math.floor((ms - Date.UTC(d.getUTCFullYear(), 0, 1)) / msPerDay) + 1;
    case 'HOUR':
      return d.getUTCHours();
    case 'MINUTE':
      return d.getUTCMinutes();
    case 'SECOND':
      return d.getUTCSeconds();
    case 'MILLISECOND':
      return d.getUTCSeconds() * 1000 + d.getUTCMilliseconds();
    case 'EPOCH':
      return Math.floor(ms / 1000);
    default:
      return runtimeError('Invalid_Argument', `cannot EXTRACT ${unit}`);
  }
}

/** EXTRACT(unit FROM interval): the field of a day-time interval (ms) or year-month interval (months). */
export function extractInterval(unit: TimeUnit, value: number, yearMonth: boolean): number {
  const sign = value < 0 ? -1 : 1;
  const v = Math.abs(value);
  if (yearMonth) return sign * (unit === 'YEAR' ? Math.floor(v / 12) : unit === 'MONTH' ? v % 12 : 0);
  switch (unit) {
    case 'DAY':
      return sign * Math.floor(v / msPerDay);
    case 'HOUR':
      return sign * Math.floor((v % msPerDay) / msPerHour);
    case 'MINUTE':
      return sign * Math.floor((v % msPerHour) / msPerMinute);
    case 'SECOND':
      return sign * Math.floor((v % msPerMinute) / msPerSecond);
    default:
      return runtimeError('Invalid_Argument', `cannot EXTRACT ${unit} from an interval`);
  }
}

/**
 * The value of an interval literal's text for its qualifier: `'5'` MINUTE,
 * `'1:30'` HOUR TO MINUTE, `'2 03:04:05.5'` DAY TO SECOND, `'1-6'` YEAR TO
 * MONTH. Returns ms (day-time) or months (year-month); `null` when the text
 * does not fit the qualifier.
 */
export function intervalValue(text: string, start: TimeUnit, end: TimeUnit | undefined): number | null {
  const order: TimeUnit[] = ['YEAR', 'MONTH', 'DAY', 'HOUR', 'MINUTE', 'SECOND'];
  const from = order.indexOf(start);
  const to = order.indexOf(end ?? start);
  if (from < 0 || to < from) return null;
  const units = order.slice(from, to + 1);
  const parts = text.trim().split(/[-\s:]/).filter((p) => p !== '');
  if (parts.length !== units.length) return null;
  let total = 0;
  for (let k = 0; k < units.length; k++) {
    const u = units[k]!;
    const p = parts[k]!;
    if (!(u === 'SECOND' ? /^\d+(\.\d+)?$/ : /^\d+$/).test(p)) return null;
    const n = Number(p);
    total += u === 'YEAR' ? n * 12 : u === 'MONTH' ? n : u === 'SECOND' ? Math.round(n * 1000) : n * unitMs[u]!;
  }
  return total;
}

/** `+1 02:03:04.000` (day-time) or `+1-06` (year-month), SQL's interval literal text. */
export function formatInterval(value: number, yearMonth: boolean): string {
  const sign = value < 0 ? '-' : '+';
  const v = Math.abs(value);
  if (yearMonth) return `${sign}${Math.floor(v / 12)}-${pad(v % 12, 2)}`;
  const days = Math.floor(v / msPerDay);
  return `${sign}${days} ${formatTime(v % msPerDay)}`;
}
