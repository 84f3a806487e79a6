/**
 * A single-pass reader for the usual PutRecords and PutRecordBatch body:
 * it finds the records' members in the request bytes without building a
 * string of the body or an object per record, so that the base64 data can be
 * decoded straight into the one buffer handed to the main thread.
 *
 * It accepts only a strict subset of JSON, the one every SDK writes: one
 * object holding known members, each at most once, whose values are strings
 * of printable ASCII without escapes, and a `Records` array of such objects.
 * Whitespace between tokens is allowed. For anything else — an escape, a
 * non-ASCII byte, a number or null, an unknown or repeated member, a syntax
 * error — it returns `undefined` and the caller takes the general path
 * (`JSON.parse` and shape validation), which gives the exact AWS answer. So a
 * body it accepts is one `JSON.parse` reads to the same strings, and the
 * callers accept a scanned body only when the general path would accept it
 * too (offload.ts, offload-kinds.ts); a unit test checks both against each
 * other on valid and broken bodies.
 */

/** Where the members of a body are: byte ranges [start, end) of string contents in the body. */
export interface ScannedBody {
  /** Top-level string members, by name (their contents are plain ASCII, so latin1 decoding is exact). */
  members: Map<string, string>;
  count: number;
  /** Per record and record member (in the order the layout names them): start and end of the string, or -1 when absent. */
  starts: Int32Array[];
  ends: Int32Array[];
}

export interface BodyLayout {
  /** Top-level members whose values are strings. */
  topStrings: readonly string[];
  /** The array member holding the records. */
  list: string;
  /** Record members (all strings). */
  recordStrings: readonly string[];
  /** At most this many records are scanned; a longer list goes the general way (which reports it). */
  recordsMax: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Names as bytes, with their index in the layout. */
interface Names {
  bytes: Buffer[];
}

const namesCache = new WeakMap<readonly string[], Names>();
function namesOf(list: readonly string[]): Names {
  let n = namesCache.get(list);
  if (!n) {
    n = { bytes: list.map((s) => Buffer.from(s, 'latin1')) };
    namesCache.set(list, n);
  }
  return n;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** Which of `names` the bytes [start, end) spell; -1 for none. */
function nameIndex(body: Buffer, start: number, end: number, names: Names): number {
  const len = end - start;
  outer: for (let k = 0; k < names.bytes.length; k++) {
    const n = names.bytes[k]!;
    if (n.length !== len) continue;
    for (let j = 0; j < len; j++) if (body[start + j] !== n[j]) continue outer;
    return k;
  }
  return -1;
}

/**
 * The end (the closing quote's index) of a plain string whose opening quote
 * is at `open`: printable ASCII, no escape; -1 otherwise. `checkBytes` false
 * skips the per-byte check for values the caller validates completely anyway
 * (base64 data: any other byte makes its decoded length come out wrong).
 */
function plainStringEnd(body: Buffer, open: number, checkBytes: boolean): number {
  const close = body.indexOf(QUOTE, open + 1);
  if (close < 0) return -1;
  if (checkBytes) {
    for (let j = open + 1; j < close; j++) {
      const c = body[j]!;
      if (c < 0x20 || c > 0x7e || c === BACKSLASH) return -1;
    }
  } else if (body[close - 1] === BACKSLASH) return -1; // an escaped quote: not the end
  return close;
}

/**
 * Scans `body` against `layout`; undefined when the body is not in the strict
 * subset (the caller then parses it the general way). `unchecked` names the
 * record members whose bytes the caller validates itself (see plainStringEnd).
 */
export function scanBody(body: Buffer, layout: BodyLayout, unchecked: number): ScannedBody | undefined {
  const top = namesOf(layout.topStrings);
  const rec = namesOf(layout.recordStrings);
  const listName = Buffer.from(layout.list, 'latin1');
  const n = body.length;
  const members = new Map<string, string>();
  const fields = layout.recordStrings.length;
  // Sized for the most records a body of this length can hold (each record is at least `{}` and a comma).
  const cap = Math.min(layout.recordsMax, Math.max(1, Math.floor(n / 3)));
  const starts = Array.from({ length: fields }, () => new Int32Array(cap).fill(-1));
  const ends = Array.from({ length: fields }, () => new Int32Array(cap).fill(-1));
  let count = -1;
  let i = 0;
  while (i < n && isSpace(body[i]!)) i++;
  if (body[i] !== 0x7b) return undefined; // {
  i++;
  while (i < n && isSpace(body[i]!)) i++;
  if (body[i] === 0x7d) return undefined; // {}: no Records, the general path reports it
  for (;;) {
    // A member name.
    if (body[i] !== QUOTE) return undefined;
    const nameEnd = plainStringEnd(body, i, true);
    if (nameEnd < 0) return undefined;
    const nameStart = i + 1;
    i = nameEnd + 1;
    while (i < n && isSpace(body[i]!)) i++;
    if (body[i] !== 0x3a) return undefined; // :
    i++;
    while (i < n && isSpace(body[i]!)) i++;
    const isList = nameEnd - nameStart === listName.length && body.compare(listName, 0, listName.length, nameStart, nameEnd) === 0;
    if (isList) {
      if (count >= 0) return undefined; // repeated
      const after = scanRecords(body, i, rec, starts, ends, cap, unchecked);
      if (after === undefined) return undefined;
      count = after.count;
      i = after.next;
    } else {
      const k = nameIndex(body, nameStart, nameEnd, top);
      if (k < 0) return undefined; // unknown member (or a known one of another type)
      const name = layout.topStrings[k]!;
      if (members.has(name) || body[i] !== QUOTE) return undefined;
      const end = plainStringEnd(body, i, true);
      if (end < 0) return undefined;
      members.set(name, body.toString('latin1', i + 1, end));
      i = end + 1;
    }
    while (i < n && isSpace(body[i]!)) i++;
    if (body[i] === 0x2c) { // ,
      i++;
      while (i < n && isSpace(body[i]!)) i++;
      continue;
    }
    if (body[i] !== 0x7d) return undefined; // }
    i++;
    break;
  }
  while (i < n && isSpace(body[i]!)) i++;
  if (i !== n || count < 0) return undefined;
  return { members, count, starts, ends };
}

/** The records array starting at `i` (its `[`); the index after its `]`, or undefined. */
function scanRecords(
  body: Buffer, i: number, rec: Names, starts: Int32Array[], ends: Int32Array[], cap: number, unchecked: number,
): { count: number; next: number } | undefined {
  const n = body.length;
  if (body[i] !== 0x5b) return undefined; // [
  i++;
  while (i < n && isSpace(body[i]!)) i++;
  let count = 0;
  if (body[i] === 0x5d) return undefined; // []: the general path reports the empty list
  for (;;) {
    if (count >= cap) return undefined;
    if (body[i] !== 0x7b) return undefined; // {
    i++;
    while (i < n && isSpace(body[i]!)) i++;
    if (body[i] === 0x7d) return undefined; // {}: missing members, reported by the general path
    for (;;) {
      if (body[i] !== QUOTE) return undefined;
      const nameEnd = plainStringEnd(body, i, true);
      if (nameEnd < 0) return undefined;
      const k = nameIndex(body, i + 1, nameEnd, rec);
      if (k < 0) return undefined;
      i = nameEnd + 1;
      while (i < n && isSpace(body[i]!)) i++;
      if (body[i] !== 0x3a) return undefined;
      i++;
      while (i < n && isSpace(body[i]!)) i++;
      if (body[i] !== QUOTE || starts[k]![count] !== -1) return undefined;
      const end = plainStringEnd(body, i, k !== unchecked);
      if (end < 0) return undefined;
      starts[k]![count] = i + 1;
      ends[k]![count] = end;
      i = end + 1;
      while (i < n && isSpace(body[i]!)) i++;
      if (body[i] === 0x2c) {
        i++;
        while (i < n && isSpace(body[i]!)) i++;
        continue;
      }
      if (body[i] !== 0x7d) return undefined;
      i++;
      break;
    }
    count++;
    while (i < n && isSpace(body[i]!)) i++;
    if (body[i] === 0x2c) {
      i++;
      while (i < n && isSpace(body[i]!)) i++;
      continue;
    }
    if (body[i] !== 0x5d) return undefined; // ]
    return { count, next: i + 1 };
  }
}

const base64Alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const base64Values = new Int8Array(128).fill(-1);
for (let k = 0; k < 64; k++) base64Values[base64Alphabet.charCodeAt(k)] = k;

/** Bytes the base64 text [start, end) decodes to when valid: 3 per 4 characters, less the padding; -1 when its length is not a multiple of 4. */
export function base64DecodedLength(body: Buffer, start: number, end: number): number {
  const len = end - start;
  if (len % 4) return -1;
  if (len === 0) return 0;
  const pad = body[end - 1] === 0x3d ? (body[end - 2] === 0x3d ? 2 : 1) : 0;
  return (len / 4) * 3 - pad;
}

/**
 * Decodes the base64 text body[start, end) into `out` at `at` when AWS's
 * parser would take it — the rules of validate.ts's decodeBase64Blob: length
 * a multiple of 4, only the standard alphabet, `=` only as final padding, no
 * stray bits before the padding — and returns the bytes written; -1 when it
 * would not (the caller then takes the general path, which words the error).
 * `out` must have room for base64DecodedLength bytes.
 */
export function decodeBase64Into(body: Buffer, start: number, end: number, out: Buffer, at: number): number {
  const len = end - start;
  if (len % 4) return -1;
  if (len === 0) return 0;
  const pad = body[end - 1] === 0x3d ? (body[end - 2] === 0x3d ? 2 : 1) : 0;
  const want = (len / 4) * 3 - pad;
  const text = body.toString('latin1', start, end);
  // Node's decoder skips bytes outside the alphabet, so any such byte makes
  // the count come out short; it also takes the URL-safe '-' and '_', which AWS does not.
  const wrote = out.write(text, at, want, 'base64');
  if (wrote !== want || text.indexOf('-') >= 0 || text.indexOf('_') >= 0) return -1;
  if (pad) {
    const last = base64Values[body[end - pad - 1]!]!;
    if ((pad === 2 && last & 0x0f) || (pad === 1 && last & 0x03)) return -1;
  }
  return wrote;
}
