// Proves the uplink's pure parts record by record: requests are prefixes of the peeked batch within the caps, aggregation keeps one
// entry per key, the accepted prefix stops at the first refused record, pacing follows the accepted rate and recovers, and bad options name themselves.
import { describe, expect, it } from 'vitest';
import type { BufferedRecord } from '../../agent/buffer/index.ts';
import { acceptedPrefix, planAggregated, planPlain } from '../../agent/uplink/batch.ts';
import { classifyRecordError, classifyRequestError } from '../../agent/uplink/classify.ts';
import { Uplink, uplinkLimits } from '../../agent/uplink/index.ts';
import { Pacer, backoffMs } from '../../agent/uplink/pacer.ts';
import { AwsError } from '../../sdk/protocol/errors.ts';
import { deaggregate } from '../../sdk/protocol/kpl-aggregation.ts';

function rec(i: number, partitionKey: string, bytes = 10): BufferedRecord {
  return { capturedAtMs: 0, source: 's', seq: i, partitionKey, data: Buffer.alloc(bytes, i % 256), position: { segment: 0, offset: 16 + i, index: i + 1 } };
}

describe('uplink request planning', () => {
  it('plain: one entry per record, cut by count and bytes, at least one record', () => {
    const batch = Array.from({ length: 10 }, (_, i) => rec(i, `k${i % 3}`, 100));
    expect(planPlain(batch, 4, 1e6).records).toBe(4);
    const byBytes = planPlain(batch, 500, 250);
    expect(byBytes.records).toBe(2); // 102 bytes each
    expect(byBytes.bytes).toBe(204);
    expect(planPlain(batch, 500, 10).records).toBe(1);
    expect(planPlain(batch, 500, 1e6).entries.map((e) => e.records)).toEqual(batch.map((_, i) => [i]));
  });

  it('aggregated: one entry per key in order of first record, each deaggregating to its records in order', () => {
    const batch = Array.from({ length: 9 }, (_, i) => rec(i, `k${i % 3}`));
    const req = planAggregated(batch, 500, 1e6);
    expect(req.records).toBe(9);
    expect(req.entries.map((e) => e.PartitionKey)).toEqual(['k0', 'k1', 'k2']);
    expect(req.entries.map((e) => e.records)).toEqual([[0, 3, 6], [1, 4, 7], [2, 5, 8]]);
    const users = deaggregate(Buffer.from(req.entries[1]!.Data, 'base64'))!;
    expect(users.map((u) => Buffer.from(u.data)[0])).toEqual([1, 4, 7]);
    // A lone record travels plain.
    const lone = planAggregated([rec(0, 'a'), rec(1, 'b'), rec(2, 'b')], 500, 1e6);
    expect(deaggregate(Buffer.from(lone.entries[0]!.Data, 'base64'))).toBeUndefined();
  });

  it('aggregated: stops at the record that would overflow the entry count, the request or its aggregate', () => {
    const keys = Array.from({ length: 6 }, (_, i) => rec(i, `k${i}`));
    expect(planAggregated(keys, 4, 1e6).records).toBe(4);
    const big = Array.from({ length: 5 }, (_, i) => rec(i, 'same', 400 * 1024));
    const req = planAggregated(big, 500, 5 * 1024 * 1024);
    expect(req.records).toBe(2); // a third 400 KiB record would pass the 1 MiB record limit
    expect(req.entries).toHaveLength(1);
    expect(Buffer.from(req.entries[0]!.Data, 'base64').length).toBeLessThanOrEqual(uplinkLimits.aggregateBytesMax);
    expect(planAggregated(big, 500, 500 * 1024).records).toBe(1);
  });

  it('acks only the prefix before the first refused entry', () => {
    const batch = Array.from({ length: 6 }, (_, i) => rec(i, `k${i % 2}`));
    const plain = planPlain(batch, 500, 1e6);
    expect(acceptedPrefix(plain, [true, true, false, true, true, true])).toBe(2);
    expect(acceptedPrefix(plain, [true, true, true, true, true, true])).toBe(6);
    expect(acceptedPrefix(plain, [false, true, true, true, true, true])).toBe(0);
    const agg = planAggregated(batch, 500, 1e6); // k0: 0,2,4; k1: 1,3,5
    expect(acceptedPrefix(agg, [true, false])).toBe(1);
    expect(acceptedPrefix(agg, [false, true])).toBe(0);
  });
});

describe('uplink pacing and failure classes', () => {
  it('paces to the records accepted per second once throttled, never pauses past a burst window, and climbs back after clean answers (issue #15)', () => {
    const p = new Pacer(undefined);
    expect(p.recordsPerSecond).toBe(Infinity);
    // Unthrottled: no pacing at all.
    p.started(0, 500, 10_000);
    expect(p.delayMs(0)).toBe(0);
    p.answered(10, 500, 0);
    expect(p.recordsPerSecond).toBe(Infinity);
    // The first throttling measures from the first request: 500 + 300 accepted over 20 ms.
    p.started(10, 500, 10_000);
    p.answered(20, 300, 200);
    expect(p.recordsPerSecond).toBe(40_000);
    // The next one measures from that throttled answer (the budget was spent then): 250 records in 250 ms.
    p.started(20, 500, 10_000);
    p.answered(270, 250, 250);
    expect(p.recordsPerSecond).toBe(1000);
    p.started(300, 500, 10_000);
    expect(p.delayMs(300)).toBe(500); // 500 records at 1,000 a second
    // A clean answer climbs by the increase factor.
    p.answered(800, 500, 0);
    expect(p.recordsPerSecond).toBeCloseTo(1000 * uplinkLimits.paceIncreaseFactor);
    // Throttled again: 500 records accepted since the last throttling, 540 ms ago.
    p.started(800, 500, 10_000);
    p.answered(810, 0, 500);
    expect(p.recordsPerSecond).toBeCloseTo(500 / 0.54);
    // Nothing accepted since: the floor, but the pause stays within a burst window.
    p.started(810, 500, 10_000);
    p.answered(820, 0, 500);
    expect(p.recordsPerSecond).toBe(uplinkLimits.paceRecordsPerSecondMin);
    p.started(820, 500, 10_000);
    expect(p.delayMs(820)).toBe(uplinkLimits.throttlePauseMsMax);
    for (let i = 0; i < 200; i++) p.answered(2000 + i, 500, 0);
    expect(p.recordsPerSecond).toBeGreaterThan(1e6);
  });

  it('caps average wire bytes per second', () => {
    const p = new Pacer(1000);
    p.started(0, 1, 500);
    expect(p.delayMs(0)).toBe(500);
    p.started(500, 1, 2000);
    expect(p.delayMs(500)).toBe(2000);
  });

  it('backs off exponentially with full jitter under the ceiling', () => {
    expect(backoffMs(1, 100, 10_000, () => 0.999)).toBe(99);
    expect(backoffMs(4, 100, 10_000, () => 0.5)).toBe(400);
    expect(backoffMs(60, 100, 10_000, () => 0.999)).toBe(9990);
    expect(backoffMs(3, 100, 10_000, () => 0)).toBe(0);
  });

  it('classifies errors', () => {
    expect(classifyRequestError(new Error('ECONNREFUSED'))).toBe('unreachable');
    expect(classifyRequestError(new AwsError('InternalFailure'))).toBe('unreachable');
    expect(classifyRequestError(new AwsError('ValidationException', 'x', 503))).toBe('unreachable');
    expect(classifyRequestError(new AwsError('ProvisionedThroughputExceededException'))).toBe('throttled');
    for (const t of ['ResourceNotFoundException', 'AccessDeniedException', 'ValidationException', 'UnrecognizedClientException'] as const) {
      expect(classifyRequestError(new AwsError(t))).toBe('refused');
    }
    expect(classifyRecordError('ProvisionedThroughputExceededException')).toBe('throttled');
    expect(classifyRecordError('InternalFailure')).toBe('transient');
    expect(classifyRecordError('KMSAccessDeniedException')).toBe('refused');
  });
});

describe('uplink options', () => {
  const base = { buffer: { peek: () => [] } as never, stream: 's', endpoint: 'http://127.0.0.1:1', region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } };
  it.each([
    [{ batchRecordsMax: 501 }, 'batchRecordsMax must be an integer from 1 to 500 (got 501)'],
    [{ batchBytesMax: 8 * 1024 * 1024 }, 'batchBytesMax must be an integer from 1 to 5242880 (got 8388608)'],
    [{ retryBaseMs: 100, retryMaxMs: 50 }, 'retryMaxMs must be an integer from 100 to 3600000 (got 50)'],
    [{ bandwidthBytesPerSecondMax: 0 }, 'bandwidthBytesPerSecondMax must be a positive integer (got 0)'],
    [{ endpoint: 'gateway:4567' }, 'endpoint must be an http(s) URL (got gateway:4567)'],
    [{ cert: 'pem' }, 'cert and key go together'],
    [{ batchSize: 10 }, 'unknown uplink option batchSize'],
  ])('refuses %j', (extra, message) => {
    let err: unknown;
    try {
      new Uplink({ ...base, ...extra });
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'UPLINK_OPTIONS_INVALID', message });
  });
});
