/**
 * The two node:crypto calls sdk/protocol/sigv4.ts makes (SHA-256 and
 * HMAC-SHA-256, synchronous), for the browser bundle: esbuild aliases
 * `node:crypto` to this file. Built on @noble/hashes (audited, no deps).
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { Buffer } from 'buffer';

type Data = string | Uint8Array;
const bytes = (d: Data): Uint8Array => (typeof d === 'string' ? new TextEncoder().encode(d) : d);

interface Hasher {
  update(d: Data): Hasher;
  digest(): Buffer;
  digest(encoding: 'hex' | 'base64'): string;
}

function wrap(h: { update(b: Uint8Array): unknown; digest(): Uint8Array }): Hasher {
  const o = {
    update(d: Data) {
      h.update(bytes(d));
      return o;
    },
    digest(encoding?: 'hex' | 'base64') {
      const b = Buffer.from(h.digest());
      return encoding ? b.toString(encoding) : b;
    },
  };
  return o as Hasher;
}

export function createHash(algorithm: string): Hasher {
  if (algorithm !== 'sha256') throw new Error(`console: hash ${algorithm} is not bundled`);
  return wrap(sha256.create());
}

export function createHmac(algorithm: string, key: Data): Hasher {
  if (algorithm !== 'sha256') throw new Error(`console: hmac ${algorithm} is not bundled`);
  return wrap(hmac.create(sha256, bytes(key)));
}
