/**
 * Summarizes a V8 .cpuprofile (as written by `node --cpu-prof`): self time per
 * function, keyed by name, script and line, with bundle positions mapped back
 * to source files through the bundle's source map when one is given.
 */
import fs from 'node:fs';
import { SourceMap } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

export interface CpuProfile {
  nodes: Array<{ id: number; callFrame: CallFrame }>;
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  functionName: string;
  /** Where the function is: a source file and line when the source map knows it, else the script URL and line. */
  location: string;
  selfMs: number;
  /** Share of all sampled time, idle included. */
  percent: number;
}

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  top: SelfTime[];
}

/** Self time per function: each sample is charged the time until the next sample. */
export function summarizeCpuProfile(profile: CpuProfile, options: { top: number; root: string; sourceMaps?: Map<string, SourceMap> }): ProfileSummary {
  const frames = new Map<number, CallFrame>();
  for (const n of profile.nodes) frames.set(n.id, n.callFrame);
  const selfUs = new Map<string, { frame: CallFrame; us: number }>();
  let totalUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const us = profile.timeDeltas[i + 1] ?? 0;
    const frame = frames.get(profile.samples[i]!)!;
    const key = `${frame.functionName}\u0000${frame.url}\u0000${frame.lineNumber}`;
    const entry = selfUs.get(key) ?? { frame, us: 0 };
    entry.us += us;
    selfUs.set(key, entry);
    totalUs += us;
  }
  const idleUs = [...selfUs.values()].filter((e) => e.frame.functionName === '(idle)').reduce((n, e) => n + e.us, 0);
  const top = [...selfUs.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, options.top)
    .map((e) => ({
      functionName: e.frame.functionName || '(anonymous)',
      location: locate(e.frame, options.root, options.sourceMaps),
      selfMs: e.us / 1000,
      percent: (100 * e.us) / totalUs,
    }));
  return { totalMs: totalUs / 1000, idleMs: idleUs / 1000, top };
}

function locate(frame: CallFrame, root: string, sourceMaps: Map<string, SourceMap> | undefined): string {
  if (!frame.url) return '';
  const map = sourceMaps?.get(frame.url);
  if (map && frame.lineNumber >= 0) {
    const m = map.findEntry(frame.lineNumber, frame.columnNumber) as { originalSource?: string; originalLine?: number };
    if (m.originalSource !== undefined && m.originalLine !== undefined) {
      const file = m.originalSource.startsWith('file:') ? fileURLToPath(m.originalSource) : m.originalSource;
      return `${path.relative(root, path.resolve(root, file))}:${m.originalLine + 1}`;
    }
  }
  const file = frame.url.startsWith('file:') ? path.relative(root, fileURLToPath(frame.url)) : frame.url;
  return `${file}:${frame.lineNumber + 1}`;
}

/** The source map of a bundle, keyed by the file URL the profile uses for it; sources resolved against the map's directory. */
export function loadBundleSourceMap(bundlePath: string): Map<string, SourceMap> {
  const mapPath = `${bundlePath}.map`;
  const payload = JSON.parse(fs.readFileSync(mapPath, 'utf8')) as { sources: string[] };
  payload.sources = payload.sources.map((s) => path.resolve(path.dirname(mapPath), s));
  return new Map([[`file://${path.resolve(bundlePath)}`, new SourceMap(payload as ConstructorParameters<typeof SourceMap>[0])]]);
}
