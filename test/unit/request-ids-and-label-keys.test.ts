// Issue #12: proves the per-request costs cut for PutMedia's sake keep their
// meaning. Request ids cut from a pooled draw of random bytes are version 4
// UUIDs as crypto.randomUUID() writes them and never repeat across draws;
// x-amz-id-2 is 72 bytes of base64. Cached metric label keys equal the keys
// built afresh (sorted, escaped), whatever the order of the names, and two
// label sets never share a key.
import { describe, expect, it } from 'vitest';
import { RequestIds, requestIdsPerDraw } from '../../gateway/http/request-ids.ts';
import { Counter, escapeLabelValue, labelKey, labelKeysCachedMax } from '../../gateway/metrics.ts';

describe('RequestIds', () => {
  it('gives unique version 4 UUIDs and 72-byte x-amz-id-2 values across many draws', () => {
    const ids = new RequestIds();
    const seen = new Set<string>();
    const extended = new Set<string>();
    for (let i = 0; i < requestIdsPerDraw * 20 + 7; i++) {
      const id = ids.requestId();
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      seen.add(id);
      const id2 = ids.extendedId();
      expect(id2).toHaveLength(96);
      expect(Buffer.from(id2, 'base64')).toHaveLength(72);
      extended.add(id2);
    }
    expect(seen.size).toBe(requestIdsPerDraw * 20 + 7);
    expect(extended.size).toBe(requestIdsPerDraw * 20 + 7);
  });
});

describe('metric label keys', () => {
  const fresh = (labels: Record<string, string>) => Object.keys(labels).sort().map((k) => `${k}="${escapeLabelValue(labels[k]!)}"`).join(',');

  it('are the keys built afresh, in any name order, frozen or not, and distinct per label set', () => {
    const sets: Array<Record<string, string>> = [{}, { stream: 'a' }, { stream: 'a', direction: 'write' }, { direction: 'write', stream: 'a' }, { stream: 'q"uo\\te\nline' },
      { a: '1,b=1:x' }, { a: '1', b: 'x' }, { a: '1', b: '1:x' }, { a: '' }, { a: '', b: '' }];
    for (const labels of sets) {
      expect(labelKey(labels)).toBe(fresh(labels));
      expect(labelKey(labels)).toBe(fresh(labels)); // the cached answer
      expect(labelKey(Object.freeze({ ...labels }))).toBe(fresh(labels));
    }
    const frozen = Object.freeze({ stream: 'cam-1' });
    expect(labelKey(frozen)).toBe('stream="cam-1"');
    expect(labelKey(frozen)).toBe('stream="cam-1"');
    expect(new Set(sets.map(labelKey)).size).toBe(sets.length - 1); // only the two orders of one set share a key
  });

  it('stay right past the cache bound, and counters count under them', () => {
    for (let i = 0; i < labelKeysCachedMax + 10; i++) expect(labelKey({ stream: `s${i}` })).toBe(`stream="s${i}"`);
    const c = new Counter('t_total', 'test');
    const frozen = Object.freeze({ stream: 'cam-1' });
    for (let i = 0; i < 3; i++) c.inc(frozen, 2);
    c.inc({ stream: 'cam-1' });
    c.inc({ direction: 'read', stream: 'cam-1' });
    c.inc({ stream: 'cam-1', direction: 'read' });
    expect(c.render()).toBe('# HELP t_total test\n# TYPE t_total counter\nt_total{stream="cam-1"} 7\nt_total{direction="read",stream="cam-1"} 2\n');
  });
});
