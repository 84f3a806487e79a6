/**
 * Matroska element IDs (as written on the wire, marker bits included) and
 * the little of the schema a streaming reader needs: which master element
 * each known element belongs to, so that an element of unknown size (a
 * Segment or Cluster written by a live producer) ends where an element that
 * cannot be its child begins. Source: the Matroska specification
 * (matroska.org, RFC 9559) and the EBML specification (RFC 8794).
 */

export const MkvId = {
  EBML: 0x1a45dfa3,
  EBMLVersion: 0x4286,
  EBMLReadVersion: 0x42f7,
  EBMLMaxIDLength: 0x42f2,
  EBMLMaxSizeLength: 0x42f3,
  DocType: 0x4282,
  DocTypeVersion: 0x4287,
  DocTypeReadVersion: 0x4285,
  Void: 0xec,
  CRC32: 0xbf,
  Segment: 0x18538067,
  SeekHead: 0x114d9b74,
  Info: 0x1549a966,
  TimecodeScale: 0x2ad7b1,
  Duration: 0x4489,
  DateUTC: 0x4461,
  Title: 0x7ba9,
  MuxingApp: 0x4d80,
  WritingApp: 0x5741,
  SegmentUID: 0x73a4,
  Tracks: 0x1654ae6b,
  TrackEntry: 0xae,
  TrackNumber: 0xd7,
  TrackUID: 0x73c5,
  TrackType: 0x83,
  FlagLacing: 0x9c,
  DefaultDuration: 0x23e383,
  Name: 0x536e,
  Language: 0x22b59c,
  CodecID: 0x86,
  CodecPrivate: 0x63a2,
  CodecName: 0x258688,
  Video: 0xe0,
  PixelWidth: 0xb0,
  PixelHeight: 0xba,
  Audio: 0xe1,
  SamplingFrequency: 0xb5,
  Channels: 0x9f,
  Cluster: 0x1f43b675,
  Timecode: 0xe7,
  Position: 0xa7,
  PrevSize: 0xab,
  SimpleBlock: 0xa3,
  BlockGroup: 0xa0,
  Block: 0xa1,
  BlockDuration: 0x9b,
  ReferenceBlock: 0xfb,
  Cues: 0x1c53bb6b,
  Chapters: 0x1043a770,
  Attachments: 0x1941a469,
  Tags: 0x1254c367,
  Tag: 0x7373,
  Targets: 0x63c0,
  TargetTypeValue: 0x68ca,
  TargetType: 0x63ca,
  TagTrackUID: 0x63c5,
  SimpleTag: 0x67c8,
  TagName: 0x45a3,
  TagLanguage: 0x447a,
  TagDefault: 0x4484,
  TagString: 0x4487,
  TagBinary: 0x4485,
} as const;

/** Elements that may appear inside any master (EBML global elements). */
const globalIds: ReadonlySet<number> = new Set([MkvId.Void, MkvId.CRC32]);

/** The children of the Segment (level 1 elements). */
const segmentChildren: readonly number[] = [
  MkvId.SeekHead, MkvId.Info, MkvId.Tracks, MkvId.Cluster, MkvId.Cues, MkvId.Chapters, MkvId.Attachments, MkvId.Tags,
];

/** The children of the Cluster that can follow the Timecode. */
const clusterChildren: readonly number[] = [
  MkvId.Timecode, MkvId.Position, MkvId.PrevSize, MkvId.SimpleBlock, MkvId.BlockGroup, 0x5854 /* SilentTracks */, 0xaf /* EncryptedBlock */,
];

/**
 * Parent of each element the reader must place: root-level elements map to
 * 0. Elements not listed here are treated as children of whatever master is
 * open (they must have a known size).
 */
const parentOf: ReadonlyMap<number, number> = new Map<number, number>([
  [MkvId.EBML, 0],
  [MkvId.Segment, 0],
  ...segmentChildren.map((id) => [id, MkvId.Segment] as [number, number]),
  ...clusterChildren.map((id) => [id, MkvId.Cluster] as [number, number]),
]);

/**
 * Whether an element with `id` can be a child of the open master `masterId`.
 * False means the element closes the master (used for unknown-size masters).
 */
export function canContain(masterId: number, id: number): boolean {
  if (globalIds.has(id)) return true;
  const parent = parentOf.get(id);
  if (parent === undefined) return true;
  return parent === masterId;
}
