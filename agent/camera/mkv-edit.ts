/**
 * Pure MKV edits the camera needs on ffmpeg's output: the stream header a
 * fragment is stored with, a Cluster's Timecode moved to capture time, a
 * fragment's length, and one document made of many fragments (export).
 * Bytes in, bytes out; no clocks, no I/O (STYLE.md, "Codecs are pure").
 */
import assert from 'node:assert/strict';
import { concat, MkvId, type MkvFrame, type MkvTrack } from '../../sdk/protocol/mkv/index.ts';
import { childrenOf, parseTracks } from '../../sdk/protocol/mkv/elements.ts';
import { encodeId, encodeSize, readId, readSize, unknownSize8 } from '../../sdk/protocol/mkv/vint.ts';
import { infoElement, uintElement } from '../../sdk/protocol/mkv/writer.ts';

/** Timecodes in milliseconds: what ffmpeg's Matroska muxer writes, and what ABSOLUTE PutMedia timecodes mean. */
export const timecodeScaleMs = 1_000_000;

/** The stream header a fragment travels with: EBML header, a Segment of unknown size, Info, Tracks (as the gateway stores it). */
export function streamHeader(parts: { ebml: Uint8Array; info: Uint8Array; tracks: Uint8Array }): Uint8Array {
  return concat([parts.ebml, encodeId(MkvId.Segment), unknownSize8, parts.info, parts.tracks]);
}

/** A Cluster (as the reader gives it: known size) with its Timecode replaced by `timecode`. */
export function withClusterTimecode(cluster: Uint8Array, timecode: number): Uint8Array {
  assert.ok(Number.isSafeInteger(timecode) && timecode >= 0, 'a Cluster timecode is a non-negative integer');
  const id = readId(cluster, 0);
  assert.equal(id.id, MkvId.Cluster, 'a Cluster element');
  const size = readSize(cluster, id.length);
  const head = id.length + size.length;
  assert.ok(size.size >= 0 && head + size.size === cluster.length, 'a Cluster of known size, whole');
  const body = cluster.subarray(head);
  const parts: Uint8Array[] = [];
  let at = 0;
  let replaced = false;
  for (const c of childrenOf(body)) {
    const end = c.body.byteOffset - body.byteOffset + c.body.length;
    if (c.id === MkvId.Timecode) {
      parts.push(uintElement(MkvId.Timecode, timecode));
      replaced = true;
    } else parts.push(body.subarray(at, end));
    at = end;
  }
  assert.ok(replaced, 'the Cluster has a Timecode');
  const newBody = concat(parts);
  return concat([encodeId(MkvId.Cluster), encodeSize(newBody.length, 8), newBody]);
}

/**
 * A fragment's length in milliseconds: from its earliest frame to the end of
 * its latest (the last frame's BlockDuration, else the track's
 * DefaultDuration, else the mean spacing of the track's frames).
 */
export function fragmentDurationMs(frames: readonly MkvFrame[], tracks: readonly MkvTrack[], timecodeScale = timecodeScaleMs): number {
  if (frames.length === 0) return 0;
  let start = Infinity;
  let end = -Infinity;
  for (const track of new Set(frames.map((f) => f.track))) {
    const own = frames.filter((f) => f.track === track);
    let first = Infinity;
    let last = -Infinity;
    let lastFrame = own[0]!;
    for (const f of own) {
      first = Math.min(first, f.timecode);
      if (f.timecode >= last) {
        last = f.timecode;
        lastFrame = f;
      }
    }
    const defaultNs = tracks.find((t) => t.number === track)?.defaultDuration;
    const spacing = own.length > 1 ? (last - first) / (own.length - 1) : 0;
    const tail = lastFrame.duration ?? (defaultNs !== undefined ? defaultNs / timecodeScale : spacing);
    start = Math.min(start, first);
    end = Math.max(end, last + tail);
  }
  return Math.max(0, Math.round(((end - start) * timecodeScale) / 1_000_000));
}

/** The parts of a stored stream header (see `streamHeader`): the raw EBML header, Info and Tracks elements. */
export function splitStreamHeader(header: Uint8Array): { ebml: Uint8Array; info: Uint8Array; tracks: Uint8Array } {
  const elementAt = (at: number) => {
    const id = readId(header, at);
    const size = readSize(header, at + id.length);
    return { id: id.id, start: at, bodyAt: at + id.length + size.length, end: at + id.length + size.length + Math.max(0, size.size), unknown: size.size < 0 };
  };
  const ebml = elementAt(0);
  assert.equal(ebml.id, MkvId.EBML, 'a stream header starts with the EBML header');
  const segment = elementAt(ebml.end);
  assert.equal(segment.id, MkvId.Segment, 'then a Segment');
  let at = segment.bodyAt;
  let info: Uint8Array | undefined;
  let tracks: Uint8Array | undefined;
  while (at < header.length) {
    const e = elementAt(at);
    if (e.id === MkvId.Info) info = header.subarray(e.start, e.end);
    else if (e.id === MkvId.Tracks) tracks = header.subarray(e.start, e.end);
    at = e.end;
  }
  assert.ok(info && tracks, 'a stream header holds Info and Tracks');
  return { ebml: header.subarray(0, ebml.end), info, tracks };
}

/**
 * The header of an exported document: the fragments' EBML header and
 * Tracks, a fresh Info (timecodes in milliseconds, written by tributary; no
 * Duration, since the document is written as it is read).
 */
export function exportHeader(header: Uint8Array): Uint8Array {
  const { ebml, tracks } = splitStreamHeader(header);
  return concat([ebml, encodeId(MkvId.Segment), unknownSize8, infoElement({ timecodeScale: timecodeScaleMs, title: 'tributary camera export' }), tracks]);
}

/** Whether two stored headers describe the same tracks (codec, codec private data, size; not the random TrackUIDs): their fragments can share one document. */
export function sameTracks(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  const key = (h: Uint8Array) => {
    const raw = splitStreamHeader(h).tracks;
    const id = readId(raw, 0);
    const size = readSize(raw, id.length);
    return parseTracks(raw.subarray(id.length + size.length)).map((t) => [
      t.number, t.type, t.codecId, t.pixelWidth, t.pixelHeight, t.codecPrivate ? Buffer.from(t.codecPrivate).toString('hex') : '',
    ].join('/')).join(';');
  };
  return key(a) === key(b);
}
