/**
 * Every bound of the firmware-bridge protocol, in one place. The numbers are
 * ours (there is no AWS page for a serial link); PROTOCOL.md explains each.
 */
import assert from 'node:assert';

/** The only protocol version this codec speaks (header byte 0). */
export const protocolVersion = 1;
/** Header: version u8, type u8, flags u8, sequence number u32 LE. */
export const headerBytes = 7;
/** CRC-32C trailer, little-endian u32 over header and payload. */
export const crcBytes = 4;
/** A decoded frame (header + payload + CRC) is at most this long: fits a small MCU's RAM twice over. */
export const frameBytesMax = 512;
/** The largest payload a frame can carry. */
export const payloadBytesMax = frameBytesMax - headerBytes - crcBytes;
/** The smallest decoded frame: a header and a CRC around an empty payload. */
export const frameBytesMin = headerBytes + crcBytes;
/** COBS adds at most one byte per 254 plus one: the longest encoded frame, without its delimiter. */
export const frameEncodedBytesMax = cobsEncodedBytesMax(frameBytesMax);
/** Unsigned LEB128 integers (times in ms) are at most 8 bytes and at most 2^53 - 1. */
export const varintBytesMax = 8;
/** Compact telemetry carries at most this many values (the count is a u8). */
export const telemetryValuesMax = 255;
/** Hello strings (firmware name, version) are length-prefixed with a u8. */
export const helloStringBytesMax = 64;

/** Worst-case COBS length of `n` bytes. */
export function cobsEncodedBytesMax(n: number): number {
  return n + Math.floor(n / 254) + 1;
}

assert(payloadBytesMax > 0 && frameEncodedBytesMax === 515);
