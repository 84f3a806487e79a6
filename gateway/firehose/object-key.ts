/**
 * S3 object keys as Firehose names them (pure: the time and the random
 * strings are passed in).
 *
 * Default: `<Prefix>YYYY/MM/DD/HH/<DeliveryStreamName>-<version>-YYYY-MM-DD-HH-MM-SS-<uuid><ext>`,
 * in UTC, from the approximate arrival time of the oldest record in the
 * object. A Prefix holding expressions (`!{timestamp:yyyy/MM/dd}`,
 * `!{firehose:random-string}`, `!{firehose:error-output-type}`) is evaluated
 * instead of getting the `YYYY/MM/DD/HH/` part appended, as the Firehose
 * developer guide's "Custom Prefixes for Amazon S3 Objects" describes.
 */
import { AwsError } from '../../sdk/protocol/errors.ts';
import { keyEscapes } from './destinations/filesystem.ts';

export type ErrorOutputType = 'processing-failed' | 'format-conversion-failed' | 'AmazonOpenSearchService-failed' | 'splunk-failed' | 'http-endpoint-failed' | 's3-failed' | 'partitioning-failed' | 'redshift-failed';

export interface KeyContext {
  /** Arrival time of the oldest record in the object (ms since the epoch). */
  timeMs: number;
  /** Delivery stream name and version. */
  name: string;
  version: number;
  /** A fresh UUID for the object name. */
  uuid: string;
  /** 11 characters for `!{firehose:random-string}`. */
  randomString: string;
  /** Set for error output. */
  errorOutputType?: ErrorOutputType;
  /** Dynamic partitioning: the object's keys for `!{partitionKeyFromQuery:k}` and `!{partitionKeyFromLambda:k}` (partitioning.ts). */
  partitionKeys?: { query?: Record<string, string>; lambda?: Record<string, string> };
  /** Extension (".gz"); FileExtension wins when set. */
  extension: string;
}

const expression = /!\{([^}:]*):([^}]*)\}/g;
const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** `YYYY/MM/DD/HH/` in UTC. */
export function hourPath(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}/${pad(d.getUTCHours())}/`;
}

/** The object's own name: `<name>-<version>-YYYY-MM-DD-HH-MM-SS-<uuid><ext>`. */
export function objectName(ctx: KeyContext): string {
  const d = new Date(ctx.timeMs);
  const stamp = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}-${pad(d.getUTCHours())}-${pad(d.getUTCMinutes())}-${pad(d.getUTCSeconds())}`;
  return `${ctx.name}-${ctx.version}-${stamp}-${ctx.uuid}${ctx.extension}`;
}

/**
 * Java DateTimeFormatter letters in the subset the developer guide's examples
 * use, with the counts Java gives the same meaning (checked at create time by
 * timestampPatternProblem): y, yy (two digits), yyyy...; M, MM; d, dd; H, HH;
 * m, mm; s, ss; S... (fraction of the second, up to 9 digits).
 */
const timestampLettersMax: Record<string, number> = { y: 9, M: 2, d: 2, H: 2, m: 2, s: 2, S: 9 };

export function formatTimestamp(pattern: string, ms: number): string {
  const d = new Date(ms);
  const fields: Record<string, (n: number) => string> = {
    y: (n) => (n === 2 ? pad(d.getUTCFullYear() % 100) : pad(d.getUTCFullYear(), n)),
    M: (n) => pad(d.getUTCMonth() + 1, n),
    d: (n) => pad(d.getUTCDate(), n),
    H: (n) => pad(d.getUTCHours(), n),
    m: (n) => pad(d.getUTCMinutes(), n),
    s: (n) => pad(d.getUTCSeconds(), n),
    S: (n) => (pad(d.getUTCMilliseconds(), 3) + '000000').slice(0, n),
  };
  let out = '';
  for (let i = 0; i < pattern.length; ) {
    const c = pattern[i]!;
    if (c === "'") {
      const { text, next } = quoted(pattern, i);
      out += text;
      i = next;
      continue;
    }
    let n = 1;
    while (pattern[i + n] === c) n++;
    const f = fields[c];
    out += f ? f(n) : c.repeat(n);
    i += n;
  }
  return out;
}

/**
 * Java's quoting: `''` is one quote; otherwise the text up to the next lone
 * quote, in which `''` is a quote too. `closed` is false when the pattern
 * ends inside the quotes.
 */
function quoted(pattern: string, start: number): { text: string; next: number; closed: boolean } {
  if (pattern[start + 1] === "'") return { text: "'", next: start + 2, closed: true };
  let text = '';
  for (let i = start + 1; i < pattern.length; i++) {
    if (pattern[i] !== "'") text += pattern[i];
    else if (pattern[i + 1] === "'") text += "'", i++;
    else return { text, next: i + 1, closed: true };
  }
  return { text, next: pattern.length, closed: false };
}

/** Why a `!{timestamp:...}` pattern cannot be evaluated here as Java's DateTimeFormatter would, or undefined. */
export function timestampPatternProblem(pattern: string): string | undefined {
  for (let i = 0; i < pattern.length; ) {
    const c = pattern[i]!;
    if (c === "'") {
      const q = quoted(pattern, i);
      if (!q.closed) return 'the pattern ends inside a quoted text';
      i = q.next;
      continue;
    }
    let n = 1;
    while (pattern[i + n] === c) n++;
    if ('[]{}#'.includes(c)) return `${c} is reserved`;
    if (/[A-Za-z]/.test(c)) {
      const max = timestampLettersMax[c];
      if (max === undefined) return `the pattern letter ${c} is not supported by this gateway (supported: y, M, d, H, m, s, S)`;
      if (n > max) return `${c.repeat(n)} is not supported by this gateway (at most ${max} ${c})`;
    }
    i += n;
  }
  return undefined;
}

export function hasExpressions(prefix: string | undefined): boolean {
  return prefix !== undefined && /!\{/.test(prefix);
}

/** AWS Firehose developer guide, custom prefixes: neither prefix "can be greater than 512 characters after they're evaluated". */
export const evaluatedPrefixLengthMax = 512;

/**
 * AWS's wording for a prefix that breaks one of the developer guide's
 * semantic rules, as captured from CreateDeliveryStream (typo included):
 * "Ths supplied prefix(es) do not satisfy the following constraint:
 * ErrorOutputPrefix cannot be null or empty when Prefix contains expressions".
 */
function constraint(rule: string): AwsError {
  return new AwsError('InvalidArgumentException', `Ths supplied prefix(es) do not satisfy the following constraint: ${rule}`);
}

/**
 * Checks a Prefix / ErrorOutputPrefix pair as CreateDeliveryStream and
 * UpdateDestination do: only the supported namespaces, timestamp patterns
 * this gateway evaluates as Java would, an ErrorOutputPrefix whenever the
 * Prefix holds expressions (and then one naming the error output type), and,
 * evaluated, at most 512 characters that stay inside the bucket (issue #11:
 * `!{timestamp:'../..'}` used to pass here and fail every delivery after).
 */
export function checkPrefixes(prefix: string | undefined, errorPrefix: string | undefined): void {
  for (const [field, value] of [['Prefix', prefix], ['ErrorOutputPrefix', errorPrefix]] as const) {
    if (!value) continue;
    for (const m of value.matchAll(expression)) {
      const [all, ns, arg] = m;
      const partitionKey = (ns === 'partitionKeyFromQuery' || ns === 'partitionKeyFromLambda') && arg!.length > 0 && field === 'Prefix';
      const ok = partitionKey || (ns === 'timestamp' ? arg!.length > 0 : ns === 'firehose' && (arg === 'random-string' || (arg === 'error-output-type' && field === 'ErrorOutputPrefix')));
      if (!ok) throw new AwsError('InvalidArgumentException', `The expression ${all} in ${field} is not supported.`);
      const problem = ns === 'timestamp' ? timestampPatternProblem(arg!) : undefined;
      // Not observed on AWS (which takes any DateTimeFormatter pattern); worded as the line above.
      if (problem) throw new AwsError('InvalidArgumentException', `The expression ${all} in ${field} is not a timestamp format this gateway evaluates: ${problem}.`);
    }
    if (/!\{/.test(value.replace(expression, ''))) throw new AwsError('InvalidArgumentException', `${field} contains an unterminated or malformed expression.`);
  }
  if (hasExpressions(prefix) && !errorPrefix) throw constraint('ErrorOutputPrefix cannot be null or empty when Prefix contains expressions');
  if (hasExpressions(errorPrefix) && !errorPrefix!.includes('!{firehose:error-output-type}')) {
    throw constraint('ErrorOutputPrefix must contain !{firehose:error-output-type} when it contains expressions');
  }
  for (const [field, value] of [['Prefix', prefix], ['ErrorOutputPrefix', errorPrefix]] as const) {
    if (!value || !hasExpressions(value)) continue;
    // Evaluated with the longest error output type; partition keys, known only at delivery, as one character
    // (their values are checked then: partitioning.ts).
    const evaluated = evaluate(value, sampleContext(value));
    if (evaluated.length > evaluatedPrefixLengthMax) throw constraint(`${field} cannot be greater than ${evaluatedPrefixLengthMax} characters after it is evaluated`);
    if (keyEscapes(evaluated + 'x')) throw new AwsError('InvalidArgumentException', `Prefix ${value} would leave the bucket's directory on this gateway.`);
  }
}

/** A context to evaluate a prefix with at create time: the longest values where lengths vary. */
function sampleContext(prefix: string): KeyContext {
  const keys = Object.fromEntries([...prefix.matchAll(expression)].map((m) => [m[2]!, 'x']));
  return {
    timeMs: Date.UTC(2026, 11, 31, 23, 59, 59, 999), name: 'x', version: 1, uuid: 'x', randomString: 'x'.repeat(11), extension: '',
    errorOutputType: 'AmazonOpenSearchService-failed', partitionKeys: { query: keys, lambda: keys },
  };
}

function evaluate(prefix: string, ctx: KeyContext): string {
  return prefix.replace(expression, (_all, ns: string, arg: string) => {
    if (ns === 'timestamp') return formatTimestamp(arg, ctx.timeMs);
    if (ns === 'partitionKeyFromQuery') return ctx.partitionKeys?.query?.[arg] ?? '';
    if (ns === 'partitionKeyFromLambda') return ctx.partitionKeys?.lambda?.[arg] ?? '';
    if (arg === 'random-string') return ctx.randomString;
    return ctx.errorOutputType ?? '';
  });
}

/** The key of a delivered object. */
export function objectKey(prefix: string | undefined, ctx: KeyContext): string {
  const p = prefix ?? '';
  const dir = hasExpressions(p) ? evaluate(p, ctx) : p + hourPath(ctx.timeMs);
  return dir + objectName(ctx);
}

/** The key of an error object: ErrorOutputPrefix, or `<error-type>/YYYY/MM/DD/HH/` by default. */
export function errorObjectKey(errorPrefix: string | undefined, ctx: KeyContext & { errorOutputType: ErrorOutputType }): string {
  const dir = !errorPrefix
    ? `${ctx.errorOutputType}/${hourPath(ctx.timeMs)}`
    : hasExpressions(errorPrefix)
      ? evaluate(errorPrefix, ctx)
      : `${errorPrefix}${ctx.errorOutputType}/${hourPath(ctx.timeMs)}`;
  return dir + objectName(ctx);
}
