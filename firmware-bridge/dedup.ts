/**
 * Duplicate detection for one device's frames, by sequence number.
 *
 * A session is one boot of the MCU, named by the boot id in its hello. Within
 * a session sequence numbers grow by one per new frame (u32, wrapping) and a
 * retransmit repeats its original's number. The deduplicator remembers the
 * highest number seen and a window of the `windowSize` numbers below it (a
 * bitmap, as IPsec's anti-replay window): a number above the highest is new,
 * one inside the window is new unless its bit is set, one below the window is
 * stale (it cannot tell). A hello with a new boot id starts a new session; a
 * hello repeating the current boot id continues it (a retransmitted hello, or
 * the MCU greeting a restarted bridge). Pure; `snapshot()` lets the agent
 * persist the state beside the records it made durable.
 */
import assert from 'node:assert';

export type DedupVerdict = 'new' | 'duplicate' | 'stale' | 'no-session';

export interface DedupSnapshot {
  bootId: number;
  highest: number;
  windowSize: number;
  /** The bitmap as 32-bit words. */
  bits: number[];
}

export const dedupWindowSizeDefault = 1024;

/**
 * @example
 * const dedup = new DeviceDeduplicator();
 * dedup.hello(0xdeadbeef, 0); // 'new-session'
 * dedup.admit(1); // 'new'
 * dedup.admit(1); // 'duplicate'
 */
export class DeviceDeduplicator {
  private bootId: number | undefined;
  private highest = 0;
  private bits: Uint32Array;

  constructor(readonly windowSize = dedupWindowSizeDefault) {
    assert(Number.isInteger(Math.log2(windowSize)) && windowSize >= 32 && windowSize <= 1 << 16, 'windowSize must be a power of two from 32 to 65536');
    this.bits = new Uint32Array(windowSize / 32);
  }

  get session(): number | undefined {
    return this.bootId;
  }

  /**
   * A hello arrived. A new boot id resets the sequence space, admitting the
   * hello's own number; the current one is checked like any frame.
   */
  hello(bootId: number, seq: number): { session: 'new-session' | 'same-session'; verdict: DedupVerdict } {
    if (bootId === this.bootId) return { session: 'same-session', verdict: this.admit(seq) };
    this.bootId = bootId;
    this.bits.fill(0);
    this.highest = seq >>> 0;
    this.mark(this.highest, true);
    return { session: 'new-session', verdict: 'new' };
  }

  /** Classifies a frame's sequence number; a 'new' one is marked seen. */
  admit(seq: number): DedupVerdict {
    if (this.bootId === undefined) return 'no-session';
    const ahead = (seq - this.highest) >>> 0;
    if (ahead !== 0 && ahead < 0x80000000) {
      const clear = Math.min(ahead, this.windowSize);
      for (let i = 1; i <= clear; i++) this.mark(this.highest + i, false);
      this.highest = seq >>> 0;
      this.mark(this.highest, true);
      return 'new';
    }
    const behind = (this.highest - seq) >>> 0;
    if (behind >= this.windowSize) return 'stale';
    if (this.seen(seq)) return 'duplicate';
    this.mark(seq, true);
    return 'new';
  }

  /** Un-marks a number admitted as new whose record could not be made durable, so its retransmit is admitted. */
  release(seq: number): void {
    if (this.bootId === undefined) return;
    if (((this.highest - seq) >>> 0) < this.windowSize) this.mark(seq, false);
  }

  snapshot(): DedupSnapshot | undefined {
    if (this.bootId === undefined) return undefined;
    return { bootId: this.bootId, highest: this.highest, windowSize: this.windowSize, bits: [...this.bits] };
  }

  static restore(snapshot: DedupSnapshot): DeviceDeduplicator {
    const d = new DeviceDeduplicator(snapshot.windowSize);
    assert(snapshot.bits.length === d.bits.length, 'snapshot bitmap does not match its window size');
    d.bootId = snapshot.bootId;
    d.highest = snapshot.highest >>> 0;
    d.bits.set(snapshot.bits);
    return d;
  }

  private seen(seq: number): boolean {
    const i = (seq >>> 0) & (this.windowSize - 1);
    return (this.bits[i >>> 5]! & (1 << (i & 31))) !== 0;
  }

  private mark(seq: number, on: boolean): void {
    const i = (seq >>> 0) & (this.windowSize - 1);
    if (on) this.bits[i >>> 5]! |= 1 << (i & 31);
    else this.bits[i >>> 5]! &= ~(1 << (i & 31));
  }
}
