/**
 * PutMedia acknowledgements: newline-separated JSON objects on the response
 * body, `{"EventType":"RECEIVED","FragmentTimecode":1700000000000,
 * "FragmentNumber":"9134..."}`, ERROR with AWS's `ErrorId` (and the name in
 * `ErrorCode`). Pure: the gateway encodes them, the producer decodes them.
 */
import { putMediaErrorIds, type PutMediaErrorCode } from './limits.ts';

export type AckEventType = 'BUFFERING' | 'RECEIVED' | 'PERSISTED' | 'ERROR' | 'IDLE';

export interface Ack {
  EventType: AckEventType;
  /** The fragment's Cluster Timecode as the producer sent it. */
  FragmentTimecode?: number;
  FragmentNumber?: string;
  ErrorId?: number;
  ErrorCode?: PutMediaErrorCode;
}

export function errorAck(code: PutMediaErrorCode, fragmentTimecode?: number): Ack {
  return { EventType: 'ERROR', ...(fragmentTimecode !== undefined ? { FragmentTimecode: fragmentTimecode } : {}), ErrorId: putMediaErrorIds[code], ErrorCode: code };
}

export function encodeAck(ack: Ack): string {
  return JSON.stringify(ack) + '\n';
}

/** ErrorIds after which sending the same data again can succeed: the service's own failures. */
export function isRetryableAck(ack: Ack): boolean {
  return ack.ErrorId === putMediaErrorIds.INTERNAL_ERROR || ack.ErrorId === putMediaErrorIds.ARCHIVAL_ERROR || ack.ErrorId === putMediaErrorIds.STREAM_READ_ERROR;
}

/** Splits the ack stream into acks, whatever the chunking; lines that are not JSON objects throw. */
export class AckDecoder {
  private rest = '';
  private readonly text = new TextDecoder();

  push(chunk: Uint8Array): Ack[] {
    this.rest += this.text.decode(chunk, { stream: true });
    const lines = this.rest.split('\n');
    this.rest = lines.pop()!;
    return lines.filter((l) => l.trim() !== '').map(parseAck);
  }

  /** The stream ended: a last line without a newline still counts. */
  end(): Ack[] {
    const last = this.rest.trim();
    this.rest = '';
    return last ? [parseAck(last)] : [];
  }
}

function parseAck(line: string): Ack {
  const v = JSON.parse(line) as Ack;
  if (typeof v !== 'object' || v === null || typeof v.EventType !== 'string') throw new SyntaxError(`not a PutMedia acknowledgement: ${line.slice(0, 200)}`);
  return v;
}
