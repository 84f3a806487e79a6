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

/** Targets for the gateway (issue #19); informational, they do not change the exit code. */
export const targets = Object.freeze({
  putRecords1KiBVsKinesaliteMemoryMin: 10,
  putRecords100BVsKinesaliteMemoryMin: 12,
  putRecords1KiBVsCeilingMin: 0.6,
  putRecordLatencyP99MsMax: 5,
  putRecordLatencyP99MsMaxHttps: 8,
  /** Peak RSS under load at most the ceiling's in the same run. */
  peakRssVsCeilingMax: 1,
  idleRssMBMax: 100,
  /** GetRecords records/s over the PutRecords records/s of the same records (both put phases together). */
  getRecordsVsPutRecordsMin: 2,
  /** How much lower tributary-https's PutRecords 1 KiB records/s may be than tributary's (plain HTTP, also signed). */
  tlsCostPutRecords1KiBMax: 0.15,
});

type PutPhase = 'putRecords100B' | 'putRecords1KiB';

export function checkTargets(servers: Servers): TargetCheck[] {
  const gw = servers.tributary;
  const noData = (name: string, why = 'no data (server not run or failed)'): TargetCheck => ({ name, pass: null, detail: why });
  const ratio = (phase: PutPhase, otherName: ServerName, min: number, label: 'x' | '%'): TargetCheck => {
    const size = phase === 'putRecords1KiB' ? '1 KiB' : '100 B';
    const name = `tributary PutRecords ${size} >= ${label === '%' ? `${100 * min}% of` : `${min}x`} ${otherName}`;
    const ours = gw?.[phase]?.recordsPerS, other = servers[otherName]?.[phase]?.recordsPerS;
    if (ours === undefined || other === undefined || other === 0) return noData(name);
    const r = ours / other;
    return { name, pass: r >= min, detail: `${fmtInt(ours)} vs ${fmtInt(other)} records/s = ${label === '%' ? `${(100 * r).toFixed(0)}%` : `${r.toFixed(1)}x`}` };
  };
  const latency = (server: 'tributary' | 'tributary-https', max: number): TargetCheck => {
    const name = `${server} PutRecord p99 < ${max} ms`;
    const p99 = servers[server]?.putRecordLatency?.p99Ms;
    if (p99 === undefined || Number.isNaN(p99)) return noData(name);
    return { name, pass: p99 < max, detail: `p99 ${p99.toFixed(2)} ms` };
  };
  const peak = (): TargetCheck => {
    const name = 'tributary peak RSS <= ceiling peak RSS';
    const ours = gw?.peakRssMB, other = servers.ceiling?.peakRssMB;
    if (ours === undefined || other === undefined) return noData(name);
    return { name, pass: ours <= other * targets.peakRssVsCeilingMax, detail: `${ours.toFixed(0)} vs ${other.toFixed(0)} MB` };
  };
  const idle = (): TargetCheck => {
    const name = `tributary idle RSS < ${targets.idleRssMBMax} MB`;
    const ours = gw?.idleRssMB;
    if (ours === undefined) return noData(name);
    return { name, pass: ours < targets.idleRssMBMax, detail: `${ours.toFixed(0)} MB after start and CreateStream, before any load` };
  };
  const reads = (): TargetCheck => {
    const name = `tributary GetRecords >= ${targets.getRecordsVsPutRecordsMin}x its PutRecords rate`;
    const g = gw?.getRecords, a = gw?.putRecords100B, b = gw?.putRecords1KiB;
    if (!g || g === 'n/a' || !a || !b) return noData(name);
    // The read-back reads both put phases' records (and the warm-up's), so compare with both phases together.
    const putRate = (a.records + b.records) / (a.durationS + b.durationS);
    const r = g.recordsPerS / putRate;
    return { name, pass: r >= targets.getRecordsVsPutRecordsMin, detail: `${fmtInt(g.recordsPerS)} vs ${fmtInt(putRate)} records/s (both PutRecords phases together) = ${r.toFixed(1)}x` };
  };
  return [
    ratio('putRecords1KiB', 'kinesalite-memory', targets.putRecords1KiBVsKinesaliteMemoryMin, 'x'),
    ratio('putRecords100B', 'kinesalite-memory', targets.putRecords100BVsKinesaliteMemoryMin, 'x'),
    ratio('putRecords1KiB', 'ceiling', targets.putRecords1KiBVsCeilingMin, '%'),
    latency('tributary', targets.putRecordLatencyP99MsMax),
    latency('tributary-https', targets.putRecordLatencyP99MsMaxHttps),
    peak(),
    idle(),
    reads(),
    tlsCost(gw, servers['tributary-https']),
    ...baselineComparison(servers),
  ];
}

/** Not a target: the working tree's gateway against --baseline's, phase by phase, in records/s and server CPU per record. */
function baselineComparison(servers: Servers): TargetCheck[] {
  const a = servers.tributary, b = servers['tributary-baseline'];
  if (!a || !b) return [];
  const out: TargetCheck[] = [];
  for (const [phase, label] of [['putRecords100B', '100 B'], ['putRecords1KiB', '1 KiB']] as const) {
    const x = a[phase], y = b[phase];
    if (!x || !y || !y.recordsPerS) continue;
    out.push({
      name: `(not a target) tributary vs tributary-baseline, PutRecords ${label}`,
      pass: null,
      detail: `${fmtInt(x.recordsPerS)} vs ${fmtInt(y.recordsPerS)} records/s = ${(x.recordsPerS / y.recordsPerS).toFixed(2)}x; server CPU ${cpuUsPerRecord(x).toFixed(1)} vs ${cpuUsPerRecord(y).toFixed(1)} µs/record`,
    });
  }
  return out;
}

/** Server CPU (all threads) per acknowledged record, in µs. */
export function cpuUsPerRecord(r: { cpu: CpuShare; recordsPerS: number }): number {
  return r.recordsPerS ? (r.cpu.serverPct / 100 / r.recordsPerS) * 1e6 : NaN;
}

/** With --rounds: each round's headline ratios, and their range over the rounds. */
export function formatRounds(rounds: Servers[]): string {
  type Figure = [label: string, value: (s: Servers) => number | undefined, unit: 'x' | '%' | 'µs' | '/s'];
  const rate = (name: ServerName, phase: PutPhase) => (s: Servers) => s[name]?.[phase]?.recordsPerS;
  const over = (f: (s: Servers) => number | undefined, g: (s: Servers) => number | undefined) => (s: Servers) => {
    const x = f(s), y = g(s);
    return x === undefined || !y ? undefined : x / y;
  };
  const cpu = (name: ServerName, phase: PutPhase) => (s: Servers) => {
    const r = s[name]?.[phase];
    return r ? cpuUsPerRecord(r) : undefined;
  };
  const readOf = (s: Servers, name: ServerName) => {
    const g = s[name]?.getRecords;
    return g && g !== 'n/a' ? g : undefined;
  };
  const readRate = (s: Servers, name: ServerName) => readOf(s, name)?.recordsPerS;
  const readCpu = (s: Servers, name: ServerName) => {
    const g = readOf(s, name);
    return g ? cpuUsPerRecord(g) : undefined;
  };
  const figures: Figure[] = [
    ['tributary PutRecords 1 KiB records/s', rate('tributary', 'putRecords1KiB'), '/s'],
    ['  / kinesalite-memory', over(rate('tributary', 'putRecords1KiB'), rate('kinesalite-memory', 'putRecords1KiB')), 'x'],
    ['  / ceiling', over(rate('tributary', 'putRecords1KiB'), rate('ceiling', 'putRecords1KiB')), '%'],
    ['  / tributary-baseline', over(rate('tributary', 'putRecords1KiB'), rate('tributary-baseline', 'putRecords1KiB')), 'x'],
    ['  server CPU µs/record, tributary', cpu('tributary', 'putRecords1KiB'), 'µs'],
    ['  server CPU µs/record, tributary-baseline', cpu('tributary-baseline', 'putRecords1KiB'), 'µs'],
    ['  server CPU µs/record, ceiling', cpu('ceiling', 'putRecords1KiB'), 'µs'],
    ['tributary GetRecords records/s', (s) => readRate(s, 'tributary'), '/s'],
    ['  / tributary-baseline', over((s) => readRate(s, 'tributary'), (s) => readRate(s, 'tributary-baseline')), 'x'],
    ['  server CPU µs/record, tributary', (s) => readCpu(s, 'tributary'), 'µs'],
    ['  server CPU µs/record, tributary-baseline', (s) => readCpu(s, 'tributary-baseline'), 'µs'],
    ['tributary PutRecords 100 B records/s', rate('tributary', 'putRecords100B'), '/s'],
    ['  / kinesalite-memory', over(rate('tributary', 'putRecords100B'), rate('kinesalite-memory', 'putRecords100B')), 'x'],
    ['  / ceiling', over(rate('tributary', 'putRecords100B'), rate('ceiling', 'putRecords100B')), '%'],
    ['  / tributary-baseline', over(rate('tributary', 'putRecords100B'), rate('tributary-baseline', 'putRecords100B')), 'x'],
    ['  server CPU µs/record, tributary', cpu('tributary', 'putRecords100B'), 'µs'],
    ['  server CPU µs/record, tributary-baseline', cpu('tributary-baseline', 'putRecords100B'), 'µs'],
  ];
  const show = (v: number | undefined, unit: Figure[2]) =>
    v === undefined || !Number.isFinite(v) ? '-' : unit === 'x' ? `${v.toFixed(2)}x` : unit === '%' ? `${(100 * v).toFixed(0)}%` : unit === 'µs' ? v.toFixed(1) : fmtInt(v);
  const lines = [`Over ${rounds.length} rounds (each round ran every server once, in the same order):`];
  const w = Math.max(...figures.map((f) => f[0].length));
  for (const [label, value, unit] of figures) {
    const vs = rounds.map((s) => value(s));
    const known = vs.filter((v): v is number => v !== undefined && Number.isFinite(v)).sort((p, q) => p - q);
    if (!known.length) continue;
    const median = known[Math.floor((known.length - 1) / 2)]!;
    lines.push(`  ${label.padEnd(w)}  ${vs.map((v) => show(v, unit).padStart(8)).join(' ')}   median ${show(median, unit)}, range ${show(known[0], unit)}-${show(known.at(-1), unit)}`);
  }
  return lines.join('\n');
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
    ['', 'server CPU µs/record', (r) => r[key] && fmtFixed(1)(cpuUsPerRecord(r[key]))],
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
    ['', 'server CPU µs/record', get((g) => fmtFixed(1)(cpuUsPerRecord(g)))],
    ['', 'read / written', get((g) => `${g.records === g.recordsExpected ? 'all' : fmtInt(g.records)}${g.complete ? '' : ' (incomplete)'}${g.records === g.recordsExpected ? '' : ` / ${fmtInt(g.recordsExpected)}`}`)],
    [`PutRecord ${latencyRatePerS}/s`, 'p50 ms', lat((l) => fmtFixed(2)(l.p50Ms))],
    ['', 'p99 ms', lat((l) => fmtFixed(2)(l.p99Ms))],
    ['', 'max ms', lat((l) => fmtFixed(2)(l.maxMs))],
    ['', 'achieved /s', lat((l) => fmtInt(l.achievedPerS))],
    ['', 'failed', lat((l) => fmtInt(l.failed))],
    ['', 'CPU % server/bench/other', lat((l) => fmtCpu(l.cpu))],
    ['Idle RSS', 'MB', (r) => r.idleRssMB === undefined ? undefined : fmtInt(r.idleRssMB)],
    ['Peak RSS', 'MB', (r) => r.peakRssMB === undefined ? undefined : fmtInt(r.peakRssMB)],
    ['', 'per phase: 100 B / 1 KiB / Get / 1000/s', (r) => {
      const g = typeof r.getRecords === 'object' ? r.getRecords.cpu.peakRssMB : undefined;
      const phases = [r.putRecords100B?.cpu.peakRssMB, r.putRecords1KiB?.cpu.peakRssMB, g, r.putRecordLatency?.cpu.peakRssMB];
      return phases.every((p) => p === undefined) ? undefined : phases.map((p) => (p === undefined ? '-' : fmtInt(p))).join(' / ');
    }],
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
