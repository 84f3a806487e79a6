/**
 * `tributary-agent buffer export-video`: a time range of a camera's ring as
 * one playable MKV file. Read-only, safe while the agent runs (a fragment
 * the uplink removes meanwhile is skipped).
 *
 * The document is the first fragment's EBML header and Tracks, a fresh Info,
 * then the fragments' Clusters in capture order, their timecodes counted
 * from the first fragment (so players start at zero; `absolute` keeps the
 * capture time in epoch ms instead). Fragments recorded with other tracks
 * (a camera reconfigured between two ffmpeg runs) cannot share the document:
 * the export ends before the first of them and says where.
 */
import fs from 'node:fs';
import path from 'node:path';
import { decodeFragmentFile } from './fragment-file.ts';
import { exportHeader, sameTracks, withClusterTimecode } from './mkv-edit.ts';
import { fragmentFileName, listRing } from './ring.ts';

export interface ExportResult {
  file: string;
  fragments: number;
  bytes: number;
  /** Capture time of the first and the end of the last fragment written (ISO). */
  firstAt: string | undefined;
  endAt: string | undefined;
  /** Set when fragments with other tracks stopped the export: export again from here. */
  stoppedAt?: string;
  /** Fragments skipped: damaged, or removed while the export ran. */
  skipped: Array<{ at: string; reason: string }>;
}

export async function exportCameraRange(
  ringDir: string,
  outFile: string,
  o: { startMs?: number; endMs?: number; key?: Uint8Array; absolute?: boolean } = {},
): Promise<ExportResult> {
  const start = o.startMs ?? -Infinity;
  const end = o.endMs ?? Infinity;
  // A fragment belongs to the range when any of it lies inside (both ends included: one instant gives its fragment).
  const entries = listRing(ringDir).filter((e) => e.producerMs + e.durationMs > start && e.producerMs <= end);
  const tmp = `${outFile}.${process.pid}.tmp`;
  const out = fs.openSync(tmp, 'w', 0o600);
  const result: ExportResult = { file: path.resolve(outFile), fragments: 0, bytes: 0, firstAt: undefined, endAt: undefined, skipped: [] };
  let header: Uint8Array | undefined;
  let baseMs = 0;
  try {
    for (const e of entries) {
      let f: ReturnType<typeof decodeFragmentFile>;
      try {
        f = decodeFragmentFile(fs.readFileSync(path.join(ringDir, fragmentFileName(e))), o.key);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'CAMERA_KEY_REQUIRED' || code === 'CAMERA_KEY_MISMATCH') throw err;
        result.skipped.push({ at: new Date(e.producerMs).toISOString(), reason: code === 'ENOENT' ? 'sent and removed meanwhile' : (err as Error).message });
        continue;
      }
      if (!header) {
        header = f.header;
        baseMs = o.absolute ? 0 : e.producerMs;
        result.firstAt = new Date(e.producerMs).toISOString();
        fs.writeSync(out, exportHeader(f.header));
      } else if (!sameTracks(header, f.header)) {
        result.stoppedAt = new Date(e.producerMs).toISOString();
        break;
      }
      const cluster = withClusterTimecode(f.cluster, e.producerMs - baseMs);
      fs.writeSync(out, cluster);
      result.fragments++;
      result.bytes += cluster.length;
      result.endAt = new Date(e.producerMs + e.durationMs).toISOString();
    }
    fs.fsyncSync(out);
  } catch (err) {
    fs.closeSync(out);
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fs.closeSync(out);
  if (result.fragments === 0) {
    fs.rmSync(tmp, { force: true });
    return result;
  }
  fs.renameSync(tmp, outFile);
  return result;
}
