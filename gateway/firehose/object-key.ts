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

/** Java DateTimeFormatter letters in the subset the developer guide's examples use. */
export function formatTimestamp(pattern: string, ms: number): string {
  const d = new Date(ms);
  const fields: Record<string, (n: number) => string> = {
    y: (n) => (n === 2 ? pad(d.getUTCFullYear() % 100) : pad(d.getUTCFullYear(), n)),
    M: (n) => pad(d.getUTCMonth() + 1, n),
    d: (n) => pad(d.getUTCDate(), n),
    H: (n) => pad(d.getUTCHours(), n),
    m: (n) => pad(d.getUTCMinutes(), n),
    s: (n) => pad(d.getUTCSeconds(), n),
    S: (n) => pad(d.getUTCMilliseconds(), 3).slice(0, n),
  };
  let out = '';
  for (let i = 0; i < pattern.length; ) {
    const c = pattern[i]!;
    if (c === "'") {
      const end = pattern.indexOf("'", i + 1);
      out += end < 0 ? pattern.slice(i + 1) : pattern.slice(i + 1, end);
      i = end < 0 ? pattern.length : end + 1;
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

export function hasExpressions(prefix: string | undefined): boolean {
  return prefix !== undefined && /!\{/.test(prefix);
}

/**
 * Checks a Prefix / ErrorOutputPrefix pair as CreateDeliveryStream and
 * UpdateDestination do: only the supported namespaces, and an
 * ErrorOutputPrefix whenever the Prefix holds expressions.
 */
export function checkPrefixes(prefix: string | undefined, errorPrefix: string | undefined): void {
  for (const [field, value] of [['Prefix', prefix], ['ErrorOutputPrefix', errorPrefix]] as const) {
    if (!value) continue;
    for (const m of value.matchAll(expression)) {
      const [all, ns, arg] = m;
      const partitionKey = (ns === 'partitionKeyFromQuery' || ns === 'partitionKeyFromLambda') && arg!.length > 0 && field === 'Prefix';
      const ok = partitionKey || (ns === 'timestamp' ? arg!.length > 0 : ns === 'firehose' && (arg === 'random-string' || (arg === 'error-output-type' && field === 'ErrorOutputPrefix')));
      if (!ok) throw new AwsError('InvalidArgumentException', `The expression ${all} in ${field} is not supported.`);
    }
    if (/!\{/.test(value.replace(expression, ''))) throw new AwsError('InvalidArgumentException', `${field} contains an unterminated or malformed expression.`);
  }
  if (hasExpressions(prefix) && !errorPrefix) {
    throw new AwsError('InvalidArgumentException', 'ErrorOutputPrefix cannot be null or empty when Prefix contains expressions.');
  }
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
