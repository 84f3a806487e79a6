/**
 * CRC-32C for the shard log's hot path. @node-rs/crc32 uses the CPU's CRC
 * instructions (about 3 GB/s here against 0.6 GB/s for our table-driven
 * JavaScript); where its prebuilt binary is missing (another platform, or the
 * single-file bundle run without node_modules) the pure implementation from
 * sdk/protocol takes over. Both compute the same function, which the unit
 * tests check.
 */
import { createRequire } from 'node:module';
import { crc32c as pureCrc32c } from '../../../sdk/protocol/crc32c.ts';

type Native = (input: Buffer, initial?: number) => number;

function loadNative(): Native | undefined {
  if (process.env.TRIBUTARY_PURE_CRC === '1') return undefined;
  try {
    const mod = createRequire(import.meta.url)('@node-rs/crc32') as { crc32c?: Native };
    return typeof mod.crc32c === 'function' ? mod.crc32c : undefined;
  } catch {
    return undefined; // Not installed for this platform: the pure version serves.
  }
}

const native = loadNative();

/** Which implementation is in use (reported in the start-up log). */
export const crc32cImplementation = native ? '@node-rs/crc32' : 'javascript';

/** CRC-32C of `bytes[start, end)`. */
export function crc32cRange(bytes: Buffer, start: number, end: number): number {
  return native ? native(bytes.subarray(start, end)) >>> 0 : pureCrc32c(bytes, 0, start, end);
}
