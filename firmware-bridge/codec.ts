/**
 * The firmware bridge's pure codec: COBS, frames, typed payloads and the
 * streaming decoder. Bytes in, values out; no I/O. See PROTOCOL.md.
 */
export { cobsDecode, cobsEncode } from './cobs.ts';
export { FrameError, type FrameErrorCode } from './errors.ts';
export { decodeFrame, encodeFrame, FrameFlag, FrameType, packFrame, unpackFrame, type Frame } from './frame.ts';
export { FrameDecoder, type DecodedEvent, type FrameDecoderCounters, type FrameDecoderOptions } from './frame-decoder.ts';
export * from './limits.ts';
export {
  decodeMessage, encodeMessage, logLevels, NackReason, valueTags,
  type EncodeOptions, type LogLevel, type Message, type TelemetryBody, type TelemetryValue, type TimeBase, type ValueKind,
} from './messages.ts';
