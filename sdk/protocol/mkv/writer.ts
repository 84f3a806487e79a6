/**
 * Small helpers that write EBML elements: enough to build the GetMedia
 * answer (an EBML header, a Segment of unknown size, Info, Tracks, Tags with
 * the AWS_KINESISVIDEO_* SimpleTags, Clusters) and the documents the tests
 * feed to the reader. Pure; each returns the element's bytes.
 *
 * @example
 * const doc = concat([ebmlHeader(), segmentStart(), infoElement({ timecodeScale: 1_000_000 }),
 *   tracksElement([{ number: 1, codecId: 'V_MPEG4/ISO/AVC', pixelWidth: 1280, pixelHeight: 720 }]),
 *   clusterElement(0, [simpleBlock({ track: 1, timecode: 0, keyframe: true, data })])]);
 */
import type { MkvTrack } from './elements.ts';
import { MkvId } from './ids.ts';
import { concat } from './reader.ts';
import { encodeId, encodeSize, unknownSize8 } from './vint.ts';

/** An element with a known size. */
export function element(id: number, body: Uint8Array): Uint8Array {
  return concat([encodeId(id), encodeSize(body.length), body]);
}

/** A master element from its children. */
export function master(id: number, children: Uint8Array[]): Uint8Array {
  return element(id, concat(children));
}

/** The header of a master of unknown size (children follow), as live writers start a Segment or Cluster. */
export function unknownSizeStart(id: number): Uint8Array {
  return concat([encodeId(id), unknownSize8]);
}

export function uintElement(id: number, value: number | bigint): Uint8Array {
  let v = BigInt(value);
  if (v < 0n) throw new RangeError('unsigned element with a negative value');
  const bytes: number[] = [];
  do {
    bytes.unshift(Number(v & 0xffn));
    v >>= 8n;
  } while (v > 0n);
  return element(id, Uint8Array.from(bytes));
}

export function floatElement(id: number, value: number): Uint8Array {
  const body = new Uint8Array(8);
  new DataView(body.buffer).setFloat64(0, value);
  return element(id, body);
}

export function stringElement(id: number, value: string): Uint8Array {
  return element(id, new TextEncoder().encode(value));
}

/** The EBML header of a Matroska document (DocType matroska, version 4, read version 2, as ffmpeg writes). */
export function ebmlHeader(docType = 'matroska'): Uint8Array {
  return master(MkvId.EBML, [
    uintElement(MkvId.EBMLVersion, 1),
    uintElement(MkvId.EBMLReadVersion, 1),
    uintElement(MkvId.EBMLMaxIDLength, 4),
    uintElement(MkvId.EBMLMaxSizeLength, 8),
    stringElement(MkvId.DocType, docType),
    uintElement(MkvId.DocTypeVersion, 4),
    uintElement(MkvId.DocTypeReadVersion, 2),
  ]);
}

/** A Segment of unknown size begins. */
export function segmentStart(): Uint8Array {
  return unknownSizeStart(MkvId.Segment);
}

export function infoElement(info: { timecodeScale: number; title?: string; muxingApp?: string; writingApp?: string }): Uint8Array {
  return master(MkvId.Info, [
    uintElement(MkvId.TimecodeScale, info.timecodeScale),
    ...(info.title !== undefined ? [stringElement(MkvId.Title, info.title)] : []),
    stringElement(MkvId.MuxingApp, info.muxingApp ?? 'tributary'),
    stringElement(MkvId.WritingApp, info.writingApp ?? 'tributary'),
  ]);
}

export function tracksElement(tracks: MkvTrack[]): Uint8Array {
  return master(MkvId.Tracks, tracks.map((t) => master(MkvId.TrackEntry, [
    uintElement(MkvId.TrackNumber, t.number),
    uintElement(MkvId.TrackUID, t.uid ?? BigInt(t.number)),
    uintElement(MkvId.TrackType, t.type ?? 1),
    ...(t.name !== undefined ? [stringElement(MkvId.Name, t.name)] : []),
    stringElement(MkvId.CodecID, t.codecId),
    ...(t.codecPrivate ? [element(MkvId.CodecPrivate, t.codecPrivate)] : []),
    ...(t.defaultDuration !== undefined ? [uintElement(MkvId.DefaultDuration, t.defaultDuration)] : []),
    ...(t.pixelWidth !== undefined || t.pixelHeight !== undefined
      ? [master(MkvId.Video, [uintElement(MkvId.PixelWidth, t.pixelWidth ?? 0), uintElement(MkvId.PixelHeight, t.pixelHeight ?? 0)])]
      : []),
  ])));
}

/** A Tags element holding one Tag with one SimpleTag (TagName, TagString) per entry, as GetMedia writes them. */
export function tagsElement(tags: Array<{ name: string; value: string }>): Uint8Array {
  return master(MkvId.Tags, [
    master(MkvId.Tag, tags.map((t) => master(MkvId.SimpleTag, [stringElement(MkvId.TagName, t.name), stringElement(MkvId.TagString, t.value)]))),
  ]);
}

/** A SimpleBlock payload and element: one unlaced frame. */
export function simpleBlock(frame: { track: number; timecode: number; keyframe: boolean; data: Uint8Array }): Uint8Array {
  if (frame.timecode < -32768 || frame.timecode > 32767) throw new RangeError(`block timecode ${frame.timecode} out of int16 range`);
  const head = concat([encodeSize(frame.track), Uint8Array.of((frame.timecode >> 8) & 0xff, frame.timecode & 0xff, frame.keyframe ? 0x80 : 0)]);
  return element(MkvId.SimpleBlock, concat([head, frame.data]));
}

/** A Cluster of known size with its Timecode and the given (already encoded) children. */
export function clusterElement(timecode: number, children: Uint8Array[]): Uint8Array {
  return master(MkvId.Cluster, [uintElement(MkvId.Timecode, timecode), ...children]);
}
