/**
 * Shard iterators: opaque, tamper-proof tokens (AES-256-GCM under the
 * gateway's secret, so they survive restarts) naming the stream incarnation,
 * the shard, the next counter to read and when the iterator was made.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export interface IteratorState {
  streamName: string;
  /** Which incarnation of the stream (a stream deleted and re-created under its name is another). */
  streamIncarnation: number;
  shardIndex: number;
  counter: number;
  issuedMs: number;
}

const version = 1;

export class IteratorCodec {
  constructor(private readonly key: Buffer) {}

  encode(s: IteratorState): string {
    const name = Buffer.from(s.streamName, 'utf8');
    const plain = Buffer.allocUnsafe(28 + name.length);
    plain.writeDoubleBE(s.issuedMs, 0);
    plain.writeDoubleBE(s.streamIncarnation, 8);
    plain.writeDoubleBE(s.counter, 16);
    plain.writeUInt32BE(s.shardIndex, 24);
    name.copy(plain, 28);
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce);
    cipher.setAAD(Buffer.from([version]));
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    return Buffer.concat([Buffer.from([version]), nonce, cipher.getAuthTag(), body]).toString('base64');
  }

  /** Returns `undefined` for anything that is not an intact iterator of ours. */
  decode(text: string): IteratorState | undefined {
    const raw = Buffer.from(text, 'base64');
    if (raw.length < 1 + 12 + 16 + 28 || raw[0] !== version || raw.toString('base64') !== text) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(1, 13));
      decipher.setAAD(Buffer.from([version]));
      decipher.setAuthTag(raw.subarray(13, 29));
      const plain = Buffer.concat([decipher.update(raw.subarray(29)), decipher.final()]);
      return {
        issuedMs: plain.readDoubleBE(0),
        streamIncarnation: plain.readDoubleBE(8),
        counter: plain.readDoubleBE(16),
        shardIndex: plain.readUInt32BE(24),
        streamName: plain.toString('utf8', 28),
      };
    } catch {
      return undefined; // Authentication failed: forged or corrupted.
    }
  }
}

/** AWS prints times in these messages the way Java's Date.toString does, in UTC. */
export function javaDateString(ms: number): string {
  const d = new Date(ms);
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${days[d.getUTCDay()]} ${months[d.getUTCMonth()]} ${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} UTC ${d.getUTCFullYear()}`;
}
