/**
 * The human side of the streams benchmark: a side-by-side table, the target
 * checks computed from the same run, and the CPU profile summary.
 */
import type { CpuShare, ServerName, ServerResult } from '../streams.ts';
import type { ProfileSummary } from './cpu-profile.ts';

type Servers = Partial<Record<ServerName, ServerResult>>;

export interface TargetCheck {
  name: string;
  /** null when a server the check needs did not run or produced no number. */
  pass: boolean | null;
  detail: string;
}

/** Targets for the gateway, from the project's goals; informational, they do not change the exit code. */
export const targets = Object.freeze({
  putRecords1KiBVsKinesaliteMemoryMin: 10,
  putRecords1KiBVsCeilingMin: 0.6,
  putRecordLatencyP99MsMax: 10,
  peakRssMBMax: 200,
});

export function checkTargets(servers: Servers): TargetCheck[] {
  const gw = servers.tributary;
  const ours = gw?.putRecords1KiB?.recordsPerS;
  const ratio = (name: string, other: number | undefined, min: number, label: string): TargetCheck => {
    if (ours === undefined || other === undefined || other === 0) return { name, pass: null, detail: 'no data (server not run or failed)' };
    const r = ours / other;
    return { name, pass: r >= min, detail: `${fmtInt(ours)} vs ${fmtInt(other)} records/s = ${label === '%' ? `${(100 * r).toFixed(0)}%` : `${r.toFixed(1)}x`}` };
  };
  const p99 = gw?.putRecordLatency?.p99Ms;
  const rss = gw?.peakRssMB;
  return [
    ratio(`tributary PutRecords 1 KiB >= ${targets.putRecords1KiBVsKinesaliteMemoryMin}x kinesalite-memory`, servers['kinesalite-memory']?.putRecords1KiB?.recordsPerS, targets.putRecords1KiBVsKinesaliteMemoryMin, 'x'),
    ratio(`tributary PutRecords 1 KiB >= ${100 * targets.putRecords1KiBVsCeilingMin}% of ceiling`, servers.ceiling?.putRecords1KiB?.recordsPerS, targets.putRecords1KiBVsCeilingMin, '%'),
    p99 === undefined || Number.isNaN(p99)
      ? { name: `tributary PutRecord p99 < ${targets.putRecordLatencyP99MsMax} ms`, pass: null, detail: 'no data' }
      : { name: `tributary PutRecord p99 < ${targets.putRecordLatencyP99MsMax} ms`, pass: p99 < targets.putRecordLatencyP99MsMax, detail: `p99 ${p99.toFixed(2)} ms` },
    rss === undefined
      ? { name: `tributary peak RSS < ${targets.peakRssMBMax} MB`, pass: null, detail: 'no data' }
      : { name: `tributary peak RSS < ${targets.peakRssMBMax} MB`, pass: rss < targets.peakRssMBMax, detail: `${rss.toFixed(0)} MB` },
  ];
}

export function formatChecks(checks: TargetCheck[]): string {
  const lines = ['Targets (informational):'];
  for (const c of checks) lines.push(`${c.pass === null ? 'N/A ' : c.pass ? 'PASS' : 'FAIL'}  ${c.name}  (${c.detail})`);
  return lines.join('\n');
}

const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');
const fmtCpu = (c: CpuShare) => `${c.serverPct} / ${c.benchPct}`;
const fmtFixed = (digits: number) => (n: number) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

type Cell = (r: ServerResult) => string | undefined;
type Row = [section: string, label: string, cell: Cell];

function rows(latencyRatePerS: number): Row[] {
  const put = (key: 'putRecords100B' | 'putRecords1KiB', title: string): Row[] => [
    [title, 'records/s', (r) => r[key] && fmtInt(r[key].recordsPerS)],
    ['', 'MiB/s', (r) => r[key] && fmtFixed(1)(r[key].mibPerS)],
    ['', 'failed records', (r) => r[key] && fmtInt(r[key].recordsFailed)],
    ['', 'CPU % server/bench', (r) => r[key] && fmtCpu(r[key].cpu)],
  ];
  const get = (f: (g: Exclude<ServerResult['getRecords'], 'n/a' | undefined>) => string): Cell => (r) =>
    r.getRecords === 'n/a' ? 'n/a' : r.getRecords && f(r.getRecords);
  const lat = (f: (l: NonNullable<ServerResult['putRecordLatency']>) => string): Cell => (r) => r.putRecordLatency && f(r.putRecordLatency);
  return [
    ...put('putRecords100B', 'PutRecords 100 B'),
    ...put('putRecords1KiB', 'PutRecords 1 KiB'),
    ['GetRecords', 'records/s', get((g) => fmtInt(g.recordsPerS))],
    ['', 'MiB/s', get((g) => fmtFixed(1)(g.mibPerS))],
    ['', 'CPU % server/bench', get((g) => fmtCpu(g.cpu))],
    ['', 'read / written', get((g) => `${g.records === g.recordsExpected ? 'all' : fmtInt(g.records)}${g.complete ? '' : ' (incomplete)'}${g.records === g.recordsExpected ? '' : ` / ${fmtInt(g.recordsExpected)}`}`)],
    [`PutRecord ${latencyRatePerS}/s`, 'p50 ms', lat((l) => fmtFixed(2)(l.p50Ms))],
    ['', 'p99 ms', lat((l) => fmtFixed(2)(l.p99Ms))],
    ['', 'max ms', lat((l) => fmtFixed(2)(l.maxMs))],
    ['', 'achieved /s', lat((l) => fmtInt(l.achievedPerS))],
    ['', 'failed', lat((l) => fmtInt(l.failed))],
    ['', 'CPU % server/bench', lat((l) => fmtCpu(l.cpu))],
    ['Peak RSS', 'MB', (r) => r.peakRssMB === undefined ? undefined : fmtInt(r.peakRssMB)],
    ['Status', '', (r) => r.status],
  ];
}

export function formatTable(servers: Servers, options: { phaseS: number; latencyRatePerS: number }): string {
  const names = Object.keys(servers) as ServerName[];
  const table: string[][] = [[`(${options.phaseS} s per phase)`, '', ...names]];
  for (const [section, label, cell] of rows(options.latencyRatePerS)) {
    table.push([section, label, ...names.map((n) => cell(servers[n]!) ?? '-')]);
  }
  const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
  return table
    .map((row) => row.map((v, c) => (c < 2 ? v.padEnd(widths[c]!) : v.padStart(widths[c]!))).join('  ').trimEnd())
    .join('\n');
}

export function formatProfile(summary: ProfileSummary): string {
  const lines = [
    `CPU profile: ${(summary.totalMs / 1000).toFixed(1)} s sampled, ${(summary.idleMs / 1000).toFixed(1)} s idle. Top ${summary.top.length} by self time:`,
    '  self ms      %  function  (location)',
  ];
  for (const e of summary.top) {
    lines.push(`${e.selfMs.toFixed(0).padStart(8)}  ${e.percent.toFixed(1).padStart(5)}  ${e.functionName}  (${e.location || 'native'})`);
  }
  return lines.join('\n');
}
