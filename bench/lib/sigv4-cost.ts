/**
 * What the gateway's SigV4 check costs per request, measured in this process:
 * `verifySigV4` from gateway/http/auth.ts (imported read-only, called as the
 * gateway's guard calls it) on requests signed exactly as the streams
 * benchmark signs them, next to `JSON.parse(body.toString())` of the same
 * body, which every server in that benchmark has to do anyway. Shared by
 * bench/sigv4.ts and the estimate printed by bench/streams.ts.
 */
import { performance } from 'node:perf_hooks';
import { verifySigV4, type AuthRequest, type VerifyOptions } from '../../gateway/http/auth.ts';
import { sha256Hex } from '../../sdk/protocol/sigv4.ts';
import { Signer, streamsTargetPrefix, type Credentials } from './kinesis-http.ts';

/** Credentials for the in-process check; the gateway would look the secret up in its principal store. */
export const sigv4Credentials: Credentials = Object.freeze({ accessKeyId: 'AKIDSIGV4BENCH000001', secretAccessKey: 'sigv4-benchmark-secret-0123456789abcdefghij', region: 'us-east-1' });

export interface SigV4Case {
  name: string;
  action: 'PutRecords' | 'PutRecord';
  /** Distinct bodies, cycled through. */
  bodies: Buffer[];
  recordsPerRequest: number;
  /** Multiplies the iteration and warm-up counts, for cases whose calls take microseconds. */
  iterationsScale?: number;
}

export interface SigV4CaseResult {
  name: string;
  recordsPerRequest: number;
  /** Mean body size over the case's bodies. */
  bodyBytes: number;
  iterations: number;
  /** Medians over the rounds of each round's mean. */
  verifyUsPerRequest: number;
  verifyUsPerRecord: number;
  /** `sha256Hex(body)` alone: the part of the check that grows with the body. */
  sha256UsPerRequest: number;
  jsonParseUsPerRequest: number;
  jsonParseUsPerRecord: number;
  /** verifyUsPerRequest / jsonParseUsPerRequest. */
  verifyVsJsonParse: number;
  /** Fastest round, for a sense of the spread. */
  verifyUsPerRequestMin: number;
  jsonParseUsPerRequestMin: number;
}

interface Signed {
  req: AuthRequest;
  body: Buffer;
}

/**
 * Each body as the gateway receives it: the headers the benchmark's client
 * sends, as node:http hands them over (lower-case names, string values, plus
 * the Connection header the keep-alive agent adds).
 */
function signAll(c: SigV4Case, port: number): Signed[] {
  const signer = new Signer(`127.0.0.1:${port}`, sigv4Credentials);
  return c.bodies.map((body) => {
    const headers: Record<string, string> = { connection: 'keep-alive' };
    for (const [k, v] of Object.entries(signer.headers(`${streamsTargetPrefix}.${c.action}`, body))) headers[k] = String(v);
    return { req: { method: 'POST', url: '/', headers }, body };
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Mean µs per call of `f` over `n` calls. */
function timeUs(n: number, f: (i: number) => void): number {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) f(i);
  return ((performance.now() - t0) * 1000) / n;
}

let sink = 0;
const round3 = (n: number) => Math.round(n * 1000) / 1000;

/**
 * Times each case in `rounds` rounds; within a round, verifySigV4, SHA-256
 * and JSON.parse take turns on the same bodies, so that drift in machine load
 * hits all three alike. `warmup` untimed calls of each come first.
 */
export function measureSigV4(cases: SigV4Case[], options: { iterations: number; rounds: number; warmup: number }): SigV4CaseResult[] {
  const port = 4567;
  const verifyOptions = (): VerifyOptions => ({
    service: 'kinesis',
    region: sigv4Credentials.region,
    now: Date.now(),
    allowUnsignedPayload: false,
    lookupSecret: (id) => (id === sigv4Credentials.accessKeyId ? sigv4Credentials.secretAccessKey : undefined),
  });
  const prepared = cases.map((c) => {
    const signed = signAll(c, port);
    // A wrong signature throws, so one pass proves the requests are signed as the gateway expects.
    for (const s of signed) verifySigV4(s.req, s.body, verifyOptions());
    return { c, signed };
  });
  const results: SigV4CaseResult[] = [];
  for (const { c, signed } of prepared) {
    const scale = c.iterationsScale ?? 1;
    const perRound = Math.max(1, Math.round((options.iterations * scale) / options.rounds));
    const warmup = options.warmup * scale;
    const n = signed.length;
    const verify = (i: number) => {
      const s = signed[i % n]!;
      sink += verifySigV4(s.req, s.body, verifyOptions()).accessKeyId.length;
    };
    const sha = (i: number) => void (sink += sha256Hex(signed[i % n]!.body).length);
    const parse = (i: number) => void (sink += (JSON.parse(signed[i % n]!.body.toString()) as object) ? 1 : 0);
    timeUs(warmup, verify);
    timeUs(warmup, sha);
    timeUs(warmup, parse);
    const v: number[] = [], h: number[] = [], p: number[] = [];
    for (let r = 0; r < options.rounds; r++) {
      v.push(timeUs(perRound, verify));
      h.push(timeUs(perRound, sha));
      p.push(timeUs(perRound, parse));
    }
    const verifyUs = median(v), parseUs = median(p);
    results.push({
      name: c.name,
      recordsPerRequest: c.recordsPerRequest,
      bodyBytes: Math.round(c.bodies.reduce((sum, b) => sum + b.length, 0) / n),
      iterations: perRound * options.rounds,
      verifyUsPerRequest: round3(verifyUs),
      verifyUsPerRecord: round3(verifyUs / c.recordsPerRequest),
      sha256UsPerRequest: round3(median(h)),
      jsonParseUsPerRequest: round3(parseUs),
      jsonParseUsPerRecord: round3(parseUs / c.recordsPerRequest),
      verifyVsJsonParse: round3(verifyUs / parseUs),
      verifyUsPerRequestMin: round3(Math.min(...v)),
      jsonParseUsPerRequestMin: round3(Math.min(...p)),
    });
  }
  // Read once, so that the results the timed calls fed into it count as used.
  if (Number.isNaN(sink)) throw new Error('unreachable');
  return results;
}

const fmt = (digits: number) => (n: number) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

export function formatSigV4Table(results: SigV4CaseResult[]): string {
  const table: string[][] = [
    ['', 'body KiB', 'verifySigV4 µs/req', 'µs/record', 'of it SHA-256 µs', 'JSON.parse µs/req', 'µs/record', 'verify / parse'],
    ...results.map((r) => [
      r.name,
      fmt(1)(r.bodyBytes / 1024),
      fmt(1)(r.verifyUsPerRequest),
      fmt(3)(r.verifyUsPerRecord),
      fmt(1)(r.sha256UsPerRequest),
      fmt(1)(r.jsonParseUsPerRequest),
      fmt(3)(r.jsonParseUsPerRecord),
      `${(100 * r.verifyVsJsonParse).toFixed(0)}%`,
    ]),
  ];
  const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
  return table.map((row) => row.map((v, c) => (c === 0 ? v.padEnd(widths[c]!) : v.padStart(widths[c]!))).join('  ').trimEnd()).join('\n');
}
