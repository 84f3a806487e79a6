/**
 * `agent-buffer:<dir>`: the unsent records of an agent's buffer, read
 * straight from its segment files (a copy off a device's SD card, or a
 * stopped agent's state directory), opened with the device's buffer key when
 * the buffer is sealed. `<dir>` may be the agent's state directory (its
 * `buffer/`, and `keys/buffer.key` when present, are used), a buffer root
 * (one directory per destination) or one destination's directory. Records
 * keep their partition key, explicit hash key, capture time, source and
 * sequence number; a corrupt stretch becomes one bad item (rejects file) and
 * the read goes on with the next segment.
 */
import fs from 'node:fs';
import path from 'node:path';
import { readBufferRecords } from '../../agent/buffer/index.ts';
import { TributaryError } from '../../sdk/protocol/errors.ts';
import type { OpenOptions } from '../open.ts';
import type { ReplaySource, SourceItem } from '../types.ts';

const hasSegments = (d: string) => fs.existsSync(d) && fs.statSync(d).isDirectory() && fs.readdirSync(d).some((n) => n.endsWith('.seg'));

/** The buffer root, the destination and the key file beside it, from what the user pointed at. */
export function locateBuffer(dir: string, destination: string | undefined): { root: string; destination: string; keyFile?: string } {
  let root = dir;
  let keyFile: string | undefined;
  if (fs.existsSync(path.join(dir, 'buffer')) && !hasSegments(dir)) {
    root = path.join(dir, 'buffer');
    const k = path.join(dir, 'keys', 'buffer.key');
    if (fs.existsSync(k)) keyFile = k;
  }
  if (hasSegments(root)) return { root: path.dirname(path.resolve(root)), destination: path.basename(path.resolve(root)), ...(keyFile ? { keyFile } : {}) };
  const found = fs.readdirSync(root).filter((n) => hasSegments(path.join(root, n))).sort();
  if (destination !== undefined) {
    if (!found.includes(destination)) throw new TributaryError('REPLAY_SOURCE_INVALID', `${root} has no buffer for destination ${destination} (it has: ${found.join(', ') || 'none'})`);
    return { root, destination, ...(keyFile ? { keyFile } : {}) };
  }
  if (found.length !== 1) throw new TributaryError('REPLAY_SOURCE_INVALID', `${root} holds ${found.length === 0 ? 'no buffer segments' : `buffers for ${found.join(', ')}: pass --destination`}`);
  return { root, destination: found[0]!, ...(keyFile ? { keyFile } : {}) };
}

export class AgentBufferSource implements ReplaySource {
  readonly description: string;
  readonly state = null;
  readonly totalBytes: number;
  bytesRead = 0;
  private readonly root: string;
  private readonly destination: string;
  private readonly key: Uint8Array | undefined;

  constructor(dir: string, o: OpenOptions) {
    const at = locateBuffer(dir, o.destination);
    this.root = at.root;
    this.destination = at.destination;
    this.key = o.bufferKey ?? (at.keyFile ? fs.readFileSync(at.keyFile) : undefined);
    const segDir = path.join(this.root, this.destination);
    this.totalBytes = fs.readdirSync(segDir).filter((n) => n.endsWith('.seg')).reduce((n, f) => n + fs.statSync(path.join(segDir, f)).size, 0);
    this.description = `agent buffer ${segDir}${this.key ? ' (sealed)' : ''}`;
  }

  async *items(skip: number): AsyncGenerator<SourceItem> {
    let n = 0;
    try {
      for await (const ev of readBufferRecords(this.root, this.destination, this.key ? { encryptionKey: this.key } : {})) {
        if (n++ < skip) {
          yield { kind: 'skipped' };
          continue;
        }
        if (ev.kind === 'problem') {
          yield { kind: 'bad', reason: ev.problem, raw: '' };
          continue;
        }
        const r = ev.record;
        this.bytesRead += r.data.length + 40;
        yield {
          kind: 'record',
          record: {
            data64: r.data.toString('base64'), dataBytes: r.data.length, partitionKey: r.partitionKey, ...(r.explicitHashKey !== undefined ? { explicitHashKey: r.explicitHashKey } : {}),
            timeMs: r.capturedAtMs, capturedAtMs: r.capturedAtMs, source: r.source, seq: r.seq,
          },
        };
      }
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'BUFFER_KEY_REQUIRED') throw new TributaryError('REPLAY_KEY_MISSING', `the buffer is sealed: pass --buffer-key <the device's keys/buffer.key> (${(err as Error).message})`);
      if (code === 'BUFFER_KEY_MISMATCH') throw new TributaryError('REPLAY_KEY_INVALID', `the buffer does not open with this key: is it this device's keys/buffer.key? (${(err as Error).message})`);
      throw err;
    }
  }
}
