/**
 * Decoders for the small master elements a reader takes whole: the EBML
 * header, Info, Tracks and Tags. Each takes the element's body (its bytes
 * after ID and size) and returns plain values.
 */
import { MkvId } from './ids.ts';
import { readId, readSize } from './vint.ts';

/** Thrown for bytes that are not well-formed EBML/Matroska; `code` says what is wrong. */
export class MkvError extends Error {
  /** Events completed in the same `push` before the error (the reader returns none when it throws). */
  events: unknown[] = [];
  constructor(
    readonly code: MkvErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'MkvError';
  }
}

export type MkvErrorCode =
  | 'INVALID_ID'
  | 'INVALID_SIZE'
  | 'UNKNOWN_SIZE_NOT_ALLOWED'
  | 'ELEMENT_OVERFLOW'
  | 'UNEXPECTED_ELEMENT'
  | 'UNSUPPORTED_DOCTYPE'
  | 'ELEMENT_TOO_LARGE'
  | 'CLUSTER_TOO_LARGE'
  | 'INVALID_BLOCK'
  | 'MISSING_TIMECODE'
  | 'TRUNCATED';

export interface EbmlHeader {
  ebmlVersion: number;
  ebmlReadVersion: number;
  maxIdLength: number;
  maxSizeLength: number;
  docType: string;
  docTypeVersion: number;
  docTypeReadVersion: number;
}

export interface SegmentInfo {
  /** Nanoseconds per timecode unit (default 1,000,000: timecodes in milliseconds). */
  timecodeScale: number;
  /** In timecode units, when the writer knew it. */
  duration?: number;
  title?: string;
  muxingApp?: string;
  writingApp?: string;
}

export interface MkvTrack {
  number: number;
  uid?: bigint;
  /** 1 video, 2 audio, 17 subtitle, ... */
  type?: number;
  codecId: string;
  codecPrivate?: Uint8Array;
  name?: string;
  /** Nanoseconds per frame, when the writer gave it. */
  defaultDuration?: number;
  pixelWidth?: number;
  pixelHeight?: number;
  samplingFrequency?: number;
  channels?: number;
}

/** A SimpleTag: its name and string or binary value; nested SimpleTags in `children`. */
export interface MkvTag {
  name: string;
  value?: string;
  binary?: Uint8Array;
  children?: MkvTag[];
}

/** One child element of a master body. */
export interface Child {
  id: number;
  body: Uint8Array;
}

/** Splits a master element's body into its children; every child must have a known size that fits. */
export function childrenOf(body: Uint8Array): Child[] {
  const out: Child[] = [];
  let at = 0;
  while (at < body.length) {
    const id = readId(body, at);
    if (id.length <= 0) throw new MkvError('INVALID_ID', `invalid element ID at offset ${at} of a master element`);
    const size = readSize(body, at + id.length);
    if (size.length <= 0) throw new MkvError('INVALID_SIZE', `invalid size of element 0x${id.id.toString(16)}`);
    if (size.size < 0) throw new MkvError('UNKNOWN_SIZE_NOT_ALLOWED', `element 0x${id.id.toString(16)} has an unknown size inside a sized master`);
    const start = at + id.length + size.length;
    if (start + size.size > body.length) throw new MkvError('ELEMENT_OVERFLOW', `element 0x${id.id.toString(16)} overruns its parent`);
    out.push({ id: id.id, body: body.subarray(start, start + size.size) });
    at = start + size.size;
  }
  return out;
}

/** An unsigned integer element (up to 8 bytes; beyond 2^53 it loses precision, use `readBigUint`). */
export function readUint(body: Uint8Array): number {
  if (body.length > 8) throw new MkvError('INVALID_SIZE', 'unsigned integer longer than 8 bytes');
  let v = 0;
  for (const b of body) v = v * 256 + b;
  return v;
}

export function readBigUint(body: Uint8Array): bigint {
  if (body.length > 8) throw new MkvError('INVALID_SIZE', 'unsigned integer longer than 8 bytes');
  let v = 0n;
  for (const b of body) v = (v << 8n) | BigInt(b);
  return v;
}

export function readFloat(body: Uint8Array): number {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  if (body.length === 4) return view.getFloat32(0);
  if (body.length === 8) return view.getFloat64(0);
  if (body.length === 0) return 0;
  throw new MkvError('INVALID_SIZE', `float of ${body.length} bytes`);
}

/** A string element: UTF-8, trailing NULs dropped (the specification allows padding). */
export function readString(body: Uint8Array): string {
  let end = body.length;
  while (end > 0 && body[end - 1] === 0) end--;
  return new TextDecoder().decode(body.subarray(0, end));
}

export function parseEbmlHeader(body: Uint8Array): EbmlHeader {
  const h: EbmlHeader = { ebmlVersion: 1, ebmlReadVersion: 1, maxIdLength: 4, maxSizeLength: 8, docType: 'matroska', docTypeVersion: 1, docTypeReadVersion: 1 };
  for (const c of childrenOf(body)) {
    if (c.id === MkvId.EBMLVersion) h.ebmlVersion = readUint(c.body);
    else if (c.id === MkvId.EBMLReadVersion) h.ebmlReadVersion = readUint(c.body);
    else if (c.id === MkvId.EBMLMaxIDLength) h.maxIdLength = readUint(c.body);
    else if (c.id === MkvId.EBMLMaxSizeLength) h.maxSizeLength = readUint(c.body);
    else if (c.id === MkvId.DocType) h.docType = readString(c.body);
    else if (c.id === MkvId.DocTypeVersion) h.docTypeVersion = readUint(c.body);
    else if (c.id === MkvId.DocTypeReadVersion) h.docTypeReadVersion = readUint(c.body);
  }
  if (h.docType !== 'matroska' && h.docType !== 'webm') throw new MkvError('UNSUPPORTED_DOCTYPE', `DocType "${h.docType}" is neither matroska nor webm`);
  if (h.ebmlReadVersion > 1 || h.maxIdLength > 4 || h.maxSizeLength > 8) {
    throw new MkvError('UNSUPPORTED_DOCTYPE', `EBML read version ${h.ebmlReadVersion}, max ID length ${h.maxIdLength}, max size length ${h.maxSizeLength} not supported`);
  }
  return h;
}

export function parseInfo(body: Uint8Array): SegmentInfo {
  const info: SegmentInfo = { timecodeScale: 1_000_000 };
  for (const c of childrenOf(body)) {
    if (c.id === MkvId.TimecodeScale) info.timecodeScale = readUint(c.body);
    else if (c.id === MkvId.Duration) info.duration = readFloat(c.body);
    else if (c.id === MkvId.Title) info.title = readString(c.body);
    else if (c.id === MkvId.MuxingApp) info.muxingApp = readString(c.body);
    else if (c.id === MkvId.WritingApp) info.writingApp = readString(c.body);
  }
  if (!(info.timecodeScale > 0)) throw new MkvError('INVALID_SIZE', 'TimecodeScale must be positive');
  return info;
}

export function parseTracks(body: Uint8Array): MkvTrack[] {
  const tracks: MkvTrack[] = [];
  for (const entry of childrenOf(body)) {
    if (entry.id !== MkvId.TrackEntry) continue;
    const t: MkvTrack = { number: 0, codecId: '' };
    for (const c of childrenOf(entry.body)) {
      if (c.id === MkvId.TrackNumber) t.number = readUint(c.body);
      else if (c.id === MkvId.TrackUID) t.uid = readBigUint(c.body);
      else if (c.id === MkvId.TrackType) t.type = readUint(c.body);
      else if (c.id === MkvId.CodecID) t.codecId = readString(c.body);
      else if (c.id === MkvId.CodecPrivate) t.codecPrivate = c.body;
      else if (c.id === MkvId.Name) t.name = readString(c.body);
      else if (c.id === MkvId.DefaultDuration) t.defaultDuration = readUint(c.body);
      else if (c.id === MkvId.Video) readVideo(c.body, t);
      else if (c.id === MkvId.Audio) readAudio(c.body, t);
    }
    if (t.number <= 0) throw new MkvError('INVALID_SIZE', 'TrackEntry without a positive TrackNumber');
    tracks.push(t);
  }
  return tracks;
}

function readVideo(body: Uint8Array, t: MkvTrack): void {
  for (const c of childrenOf(body)) {
    if (c.id === MkvId.PixelWidth) t.pixelWidth = readUint(c.body);
    else if (c.id === MkvId.PixelHeight) t.pixelHeight = readUint(c.body);
  }
}

function readAudio(body: Uint8Array, t: MkvTrack): void {
  for (const c of childrenOf(body)) {
    if (c.id === MkvId.SamplingFrequency) t.samplingFrequency = readFloat(c.body);
    else if (c.id === MkvId.Channels) t.channels = readUint(c.body);
  }
}

/** The SimpleTags of every Tag in a Tags body, in order (Targets are not kept). */
export function parseTags(body: Uint8Array): MkvTag[] {
  const out: MkvTag[] = [];
  for (const tag of childrenOf(body)) {
    if (tag.id !== MkvId.Tag) continue;
    for (const c of childrenOf(tag.body)) if (c.id === MkvId.SimpleTag) out.push(parseSimpleTag(c.body, 0));
  }
  return out;
}

function parseSimpleTag(body: Uint8Array, depth: number): MkvTag {
  if (depth > 8) throw new MkvError('ELEMENT_OVERFLOW', 'SimpleTags nested too deep');
  const tag: MkvTag = { name: '' };
  for (const c of childrenOf(body)) {
    if (c.id === MkvId.TagName) tag.name = readString(c.body);
    else if (c.id === MkvId.TagString) tag.value = readString(c.body);
    else if (c.id === MkvId.TagBinary) tag.binary = c.body;
    else if (c.id === MkvId.SimpleTag) (tag.children ??= []).push(parseSimpleTag(c.body, depth + 1));
  }
  return tag;
}
