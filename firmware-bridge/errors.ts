/** The firmware bridge's operating errors: one class, a stable `code` to branch on. */
import { TributaryError } from '../sdk/protocol/errors.ts';

export type FrameErrorCode =
  /** The block between two delimiters is not valid COBS. */
  | 'BAD_COBS'
  /** More bytes than the longest frame arrived without a delimiter. */
  | 'OVERSIZE'
  /** Decoded frame shorter than a header and a CRC. */
  | 'TOO_SHORT'
  /** The CRC-32C trailer does not match header and payload. */
  | 'CRC_MISMATCH'
  /** Header byte 0 is not a version this codec speaks. */
  | 'UNKNOWN_VERSION'
  /** A frame type this codec has no payload decoder for. */
  | 'UNKNOWN_TYPE'
  /** The payload does not parse as its type's body. */
  | 'BAD_PAYLOAD'
  /** A value to encode is out of range (a caller's mistake, reported as an error so bridges can nack). */
  | 'BAD_VALUE';

export class FrameError extends TributaryError {
  constructor(
    override readonly code: FrameErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.name = 'FrameError';
  }
}
