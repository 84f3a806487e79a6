// Proves the file tail's line assembler, which is pure: lines split the same way whatever the chunking (fed byte by byte and in random splits), multiline groups by start pattern, records cut at the cap with the marker and on a UTF-8 boundary, and offsets that never pass a byte whose record is not yet emitted.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LineAssembler, truncationMarker, utf8PrefixLength, type AssembledRecord } from '../../agent/inputs/line-assembler.ts';

const opts = { recordBytesMax: 1024, startPattern: undefined };
const texts = (rs: AssembledRecord[]) => rs.map((r) => r.data.toString('utf8'));

function feed(a: LineAssembler, input: Buffer, splits: number[]): AssembledRecord[] {
  const out: AssembledRecord[] = [];
  let pos = 0;
  for (const s of [...splits, input.length]) {
    const end = Math.min(Math.max(s, pos), input.length);
    out.push(...a.push(input.subarray(pos, end)));
    pos = end;
  }
  return out;
}

describe('line assembler', () => {
  it('splits lines, drops a trailing CR, skips empty lines, and holds a partial last line', () => {
    const a = new LineAssembler(opts, 100);
    const out = a.push(Buffer.from('one\r\ntwo\n\nthr'));
    expect(texts(out)).toEqual(['one', 'two']);
    expect(out.map((r) => r.endOffset)).toEqual([105, 109]);
    expect([a.offset, a.safeOffset]).toEqual([113, 110]);
    expect(texts(a.push(Buffer.from('ee\n')))).toEqual(['three']);
    expect(a.safeOffset).toBe(116);
    a.push(Buffer.from('tail'));
    expect(texts(a.flushAll())).toEqual(['tail']);
    expect(a.safeOffset).toBe(120);
  });

  it('gives the same records and offsets for any chunking', () => {
    const line = fc.oneof(fc.string({ maxLength: 40 }), fc.constant('é😀 mixed ünïcode'), fc.constant('x'.repeat(70)));
    fc.assert(fc.property(fc.array(line, { maxLength: 30 }), fc.array(fc.nat(3000), { maxLength: 20 }), fc.boolean(), (lines, splits, multi) => {
      const input = Buffer.from(lines.map((l) => `${l}\n`).join(''));
      const o = { recordBytesMax: 50, startPattern: multi ? /^x/ : undefined };
      const whole = new LineAssembler(o, 0);
      const want = [...whole.push(input), ...whole.flushAll()];
      const cut = new LineAssembler(o, 0);
      const got = [...feed(cut, input, [...splits].sort((x, y) => x - y)), ...cut.flushAll()];
      expect(got.map((r) => [r.data.toString('hex'), r.endOffset])).toEqual(want.map((r) => [r.data.toString('hex'), r.endOffset]));
      const bytewise = new LineAssembler(o, 0);
      const b = [...feed(bytewise, input, Array.from({ length: input.length }, (_, i) => i)), ...bytewise.flushAll()];
      expect(b.map((r) => r.data.toString('hex'))).toEqual(want.map((r) => r.data.toString('hex')));
    }));
  });

  it('groups multiline records by start pattern and keeps the group out of the safe offset until it is emitted', () => {
    const a = new LineAssembler({ recordBytesMax: 1024, startPattern: /^\d{4}-/ }, 0);
    const log = '2026-01-01 ERROR boom\n  at f (a.js:1)\n  at g (b.js:2)\n2026-01-01 INFO ok\n';
    const out = a.push(Buffer.from(log));
    expect(texts(out)).toEqual(['2026-01-01 ERROR boom\n  at f (a.js:1)\n  at g (b.js:2)']);
    expect(out[0]!.endOffset).toBe(log.indexOf('2026-01-01 INFO'));
    expect(a.safeOffset).toBe(out[0]!.endOffset); // The INFO line is pending: not safe to checkpoint yet.
    expect(texts(a.flushPending())).toEqual(['2026-01-01 INFO ok']);
    expect(a.safeOffset).toBe(log.length);
  });

  it('cuts an over-long line at the cap with the marker and counts every dropped byte', () => {
    const a = new LineAssembler({ recordBytesMax: 10, startPattern: undefined }, 0);
    const out = a.push(Buffer.from(`${'a'.repeat(25)}\nshort\n`));
    expect(texts(out)).toEqual([`${'a'.repeat(10)}…[truncated 15 bytes]`, 'short']);
    expect(out.map((r) => r.truncated)).toEqual([true, false]);
  });

  it('cuts a multiline group at the cap', () => {
    const a = new LineAssembler({ recordBytesMax: 12, startPattern: /^S/ }, 0);
    const out = [...a.push(Buffer.from('Start\n  cont1\n  cont2\nS2\n')), ...a.flushPending()];
    expect(texts(out)).toEqual(['Start\n  cont…[truncated 9 bytes]', 'S2']);
  });

  it('never cuts inside a UTF-8 sequence', () => {
    const euro = Buffer.from('ab€'); // € is 3 bytes.
    expect([2, 3, 4, 5].map((n) => utf8PrefixLength(euro, n))).toEqual([2, 2, 2, 5]);
    const a = new LineAssembler({ recordBytesMax: 4, startPattern: undefined }, 0);
    expect(texts(a.push(Buffer.from('ab€€\n')))).toEqual([`ab${truncationMarker(6).toString()}`]);
  });
});
