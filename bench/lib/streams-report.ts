/**
 * The human side of the streams benchmark: a side-by-side table, the target
 * checks computed from the same run, the estimated SigV4 share of the
 * gateway's CPU, and the CPU profile summary.
 */
import type { CpuShare, ServerName, ServerResult } from '../streams.ts';
import type { ProfileSummary } from './cpu-profile.ts';
import type { SigV4CaseResult } from './sigv4-cost.ts';

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
  /** How much lower tributary-https's PutRecords 1 KiB records/s may be than tributary's (plain HTTP, also signed). */
  tlsCostPutRecords1KiBMax: 0.15,
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
    tlsCost(gw, servers['tributary-https']),
  ];
}

/**
 * tributary-https against tributary on 1 KiB PutRecords. Both verify SigV4, so
 * the difference is what TLS costs; the detail adds server CPU per record,
 * which the client's own share of the two cores moves less.
 */
function tlsCost(plain: ServerResult | undefined, secure: ServerResult | undefined): TargetCheck {
  const name = `TLS+SigV4 cost on PutRecords 1 KiB batches of 500 < ${100 * targets.tlsCostPutRecords1KiBMax}%`;
  const a = plain?.putRecords1KiB, b = secure?.putRecords1KiB;
  if (!a || !b || a.recordsPerS === 0 || b.recordsPerS === 0) return { name, pass: null, detail: 'no data (tributary or tributary-https not run or failed)' };
  const cost = 1 - b.recordsPerS / a.recordsPerS;
  const cpuUsPerRecord = (r: typeof a) => (r.cpu.serverPct / 100 / r.recordsPerS) * 1e6;
  const cpuA = cpuUsPerRecord(a), cpuB = cpuUsPerRecord(b);
  return {
    name,
    pass: cost < targets.tlsCostPutRecords1KiBMax,
    detail:
      `tributary-https ${fmtInt(b.recordsPerS)} vs tributary ${fmtInt(a.recordsPerS)} records/s = ${Math.abs(100 * cost).toFixed(1)}% ${cost >= 0 ? 'lower' : 'higher'}; ` +
      `server CPU ${cpuB.toFixed(1)} vs ${cpuA.toFixed(1)} µs/record (${cpuB >= cpuA ? '+' : ''}${((100 * (cpuB - cpuA)) / cpuA).toFixed(0)}%), bench CPU ${b.cpu.benchPct}% vs ${a.cpu.benchPct}%, other ${b.cpu.otherPct ?? '?'}% vs ${a.cpu.otherPct ?? '?'}%; ` +
      'both verify SigV4, so this is the TLS share (SigV4: see the estimate below)',
  };
}

export interface SigV4ShareEstimate {
  server: ServerName;
  phase: 'PutRecords 1 KiB' | 'PutRecords 100 B' | 'PutRecord 1000/s';
  requestsPerS: number;
  verifyUsPerRequest: number;
  /** requestsPerS x verifyUsPerRequest, in ms of CPU per second. */
  verifyCpuMsPerS: number;
  /** The server's measured CPU over the phase, in ms per second (all threads). */
  serverCpuMsPerS: number;
  /** verifyCpuMsPerS / serverCpuMsPerS. */
  shareOfServerCpu: number;
}

/**
 * What verifySigV4 (timed in the bench process on the same bodies) would take
 * of the gateway's measured CPU at the request rates each gateway reached.
 */
export function estimateSigV4Share(servers: Servers, sigv4: SigV4CaseResult[]): SigV4ShareEstimate[] {
  const verifyUs = (caseName: string) => sigv4.find((c) => c.name === caseName)?.verifyUsPerRequest;
  const out: SigV4ShareEstimate[] = [];
  for (const server of ['tributary', 'tributary-https'] as const) {
    const r = servers[server];
    if (!r) continue;
    const phases: Array<[SigV4ShareEstimate['phase'], number | undefined, number | undefined, CpuShare | undefined]> = [
      ['PutRecords 1 KiB', r.putRecords1KiB && r.putRecords1KiB.requests / r.putRecords1KiB.durationS, verifyUs('PutRecords 500 x 1 KiB'), r.putRecords1KiB?.cpu],
      ['PutRecords 100 B', r.putRecords100B && r.putRecords100B.requests / r.putRecords100B.durationS, verifyUs('PutRecords 500 x 100 B'), r.putRecords100B?.cpu],
      ['PutRecord 1000/s', r.putRecordLatency?.achievedPerS, verifyUs('PutRecord 100 B'), r.putRecordLatency?.cpu],
    ];
    for (const [phase, requestsPerS, us, cpu] of phases) {
      if (requestsPerS === undefined || us === undefined || !cpu || cpu.serverPct === 0) continue;
      const verifyCpuMsPerS = (requestsPerS * us) / 1000;
      const serverCpuMsPerS = cpu.serverPct * 10;
      out.push({ server, phase, requestsPerS, verifyUsPerRequest: us, verifyCpuMsPerS, serverCpuMsPerS, shareOfServerCpu: verifyCpuMsPerS / serverCpuMsPerS });
    }
  }
  return out;
}

export function formatSigV4Estimate(sigv4: SigV4CaseResult[], estimates: SigV4ShareEstimate[]): string {
  const lines = [
    'Estimated SigV4 verification share of the gateway\'s CPU (verifySigV4 timed in the bench process before the servers ran:',
    `  ${sigv4.map((c) => `${c.verifyUsPerRequest.toFixed(1)} µs per ${c.name}`).join(', ')};`,
    '  npm run bench -- sigv4 measures it at length):',
  ];
  const w = Math.max(...estimates.map((e) => e.server.length));
  for (const e of estimates) {
    lines.push(
      `  ${e.server.padEnd(w)}  ${e.phase.padEnd(16)}  ${fmtInt(e.requestsPerS).padStart(5)} req/s x ${e.verifyUsPerRequest.toFixed(1).padStart(5)} µs = ` +
        `${e.verifyCpuMsPerS.toFixed(0).padStart(3)} ms/s of ${fmtInt(e.serverCpuMsPerS).padStart(5)} ms/s server CPU = ${(100 * e.shareOfServerCpu).toFixed(1).padStart(4)}%`,
    );
  }
  return lines.join('\n');
}

export function formatChecks(checks: TargetCheck[]): string {
  const lines = ['Targets (informational):'];
  for (const c of checks) lines.push(`${c.pass === null ? 'N/A ' : c.pass ? 'PASS' : 'FAIL'}  ${c.name}  (${c.detail})`);
  return lines.join('\n');
}

const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');
const fmtCpu = (c: CpuShare) => `${c.serverPct} / ${c.benchPct} / ${c.otherPct ?? '?'}`;
const fmtFixed = (digits: number) => (n: number) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

type Cell = (r: ServerResult) => string | undefined;
type Row = [section: string, label: string, cell: Cell];

function rows(latencyRatePerS: number): Row[] {
  const put = (key: 'putRecords100B' | 'putRecords1KiB', title: string): Row[] => [
    [title, 'records/s', (r) => r[key] && fmtInt(r[key].recordsPerS)],
    ['', 'MiB/s', (r) => r[key] && fmtFixed(1)(r[key].mibPerS)],
    ['', 'failed records', (r) => r[key] && fmtInt(r[key].recordsFailed)],
    ['', 'CPU % server/bench/other', (r) => r[key] && fmtCpu(r[key].cpu)],
  ];
  const get = (f: (g: Exclude<ServerResult['getRecords'], 'n/a' | undefined>) => string): Cell => (r) =>
    r.getRecords === 'n/a' ? 'n/a' : r.getRecords && f(r.getRecords);
  const lat = (f: (l: NonNullable<ServerResult['putRecordLatency']>) => string): Cell => (r) => r.putRecordLatency && f(r.putRecordLatency);
  return [
    ...put('putRecords100B', 'PutRecords 100 B'),
    ...put('putRecords1KiB', 'PutRecords 1 KiB'),
    ['GetRecords', 'records/s', get((g) => fmtInt(g.recordsPerS))],
    ['', 'MiB/s', get((g) => fmtFixed(1)(g.mibPerS))],
    ['', 'CPU % server/bench/other', get((g) => fmtCpu(g.cpu))],
    ['', 'read / written', get((g) => `${g.records === g.recordsExpected ? 'all' : fmtInt(g.records)}${g.complete ? '' : ' (incomplete)'}${g.records === g.recordsExpected ? '' : ` / ${fmtInt(g.recordsExpected)}`}`)],
    [`PutRecord ${latencyRatePerS}/s`, 'p50 ms', lat((l) => fmtFixed(2)(l.p50Ms))],
    ['', 'p99 ms', lat((l) => fmtFixed(2)(l.p99Ms))],
    ['', 'max ms', lat((l) => fmtFixed(2)(l.maxMs))],
    ['', 'achieved /s', lat((l) => fmtInt(l.achievedPerS))],
    ['', 'failed', lat((l) => fmtInt(l.failed))],
    ['', 'CPU % server/bench/other', lat((l) => fmtCpu(l.cpu))],
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
