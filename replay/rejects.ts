/**
 * The rejects file: records a replay could not send (undecodable input,
 * too large, no partition key at the path, refused by the target for good),
 * one JSON line each: `{"ordinal","reason","record"}` with the record as a
 * capture line object, or `{"ordinal","reason","raw"}` with the start of the
 * undecodable input. Created on the first reject; on resume cut back to the
 * checkpoint's length, so each reject is written once.
 */
import fs from 'node:fs';
import type { ReplayRecord } from './types.ts';

export class RejectsFile {
  private fd: number | undefined;
  private length: number;

  constructor(private readonly file: string, resumeBytes: number | undefined, private readonly sync: boolean) {
    this.length = resumeBytes ?? 0;
    if (resumeBytes !== undefined && fs.existsSync(file)) {
      this.fd = fs.openSync(file, 'r+', 0o600);
      fs.ftruncateSync(this.fd, resumeBytes);
    } else if (fs.existsSync(file)) {
      fs.rmSync(file); // A new run: an old rejects file of this name is not ours.
    }
  }

  get bytes(): number {
    return this.length;
  }

  write(r: ReplayRecord | { ordinal: number; raw: string }, reason: string): void {
    const doc = 'raw' in r
      ? { ordinal: r.ordinal, reason, raw: r.raw }
      : { ordinal: r.ordinal, reason, record: { Data: r.data64, PartitionKey: r.partitionKey, ...(r.sequenceNumber !== undefined ? { SequenceNumber: r.sequenceNumber } : {}), ...(r.timeMs !== undefined ? { ApproximateArrivalTimestamp: r.timeMs / 1000 } : {}) } };
    const line = Buffer.from(JSON.stringify(doc) + '\n', 'utf8');
    this.fd ??= fs.openSync(this.file, 'w', 0o600);
    fs.writeSync(this.fd, line, 0, line.length, this.length);
    if (this.sync) fs.fdatasyncSync(this.fd);
    this.length += line.length;
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}
