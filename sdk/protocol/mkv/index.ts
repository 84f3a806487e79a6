/**
 * Matroska (MKV/WebM) for Kinesis Video Streams: a pure streaming reader and
 * the writer helpers the gateway needs. See reader.ts for the event model.
 */
export { MkvReader, mkvReaderDefaults, concat, readCluster, type MkvEvent, type MkvReaderOptions } from './reader.ts';
export { MkvError, type MkvErrorCode, type EbmlHeader, type SegmentInfo, type MkvTrack, type MkvTag } from './elements.ts';
export { parseBlock, type MkvFrame } from './block.ts';
export { MkvId } from './ids.ts';
export * from './writer.ts';
export { encodeId, encodeSize, readId, readSize } from './vint.ts';
