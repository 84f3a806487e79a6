/**
 * The agent's durable buffer: the public surface. Other packages import from
 * here only. See docs/agent-buffer.md for the format and guarantees.
 */
export { DiskBuffer, type BufferStats, type BufferPart } from './disk-buffer.ts';
export { comparePositions, type BufferPosition, type BufferedRecord } from './reader.ts';
export type { AppendRecord } from './validate.ts';
export { parseFsyncPolicy, type BufferOptions, type BufferProblem, type CapPolicy, type FsyncPolicy } from './options.ts';
export { type BufferErrorCode } from './errors.ts';
export { inspectBuffer, verifyBuffer, exportBuffer, readBufferRecords, type BufferReadEvent, type DestinationSummary, type SegmentVerdict } from './tooling.ts';
export type { FrameRecord } from './frame-codec.ts';
export { readDeadLetters, deadLetterFileName } from './dead-letter.ts';
export * as bufferLimits from './limits.ts';
