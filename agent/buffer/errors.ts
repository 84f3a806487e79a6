/**
 * The buffer's operating errors. Callers branch on `code`, never on message
 * text; the codes are part of the agent's public contract.
 */
import { TributaryError } from '../../sdk/protocol/errors.ts';

export type BufferErrorCode =
  /** The cap is reached and the policy is `reject-newest`. */
  | 'BUFFER_FULL'
  /** A record's fields break a limit (source, partition key, hash key, data). */
  | 'BUFFER_RECORD_INVALID'
  /** A record's frame can never fit in the configured cap. */
  | 'BUFFER_RECORD_TOO_LARGE'
  /** Options break a limit; the message names the option. */
  | 'BUFFER_OPTIONS_INVALID'
  /** The buffer holds encrypted records and no key was given. */
  | 'BUFFER_KEY_REQUIRED'
  /** A frame passes its CRC but does not decrypt: the key is wrong. */
  | 'BUFFER_KEY_MISMATCH'
  /** A position that this buffer never handed out. */
  | 'BUFFER_POSITION_INVALID'
  /** The buffer was closed, or a write failed and the buffer refuses more. */
  | 'BUFFER_CLOSED'
  /** Another live process has the destination open. */
  | 'BUFFER_LOCKED'
  /** A tooling call named a destination that does not exist. */
  | 'BUFFER_NOT_FOUND';

export function bufferError(code: BufferErrorCode, message: string, cause?: unknown): TributaryError {
  return new TributaryError(code, message, cause === undefined ? undefined : { cause });
}
