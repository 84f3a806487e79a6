// The jq subset behind MetadataExtraction (gateway/firehose/jq.ts): each
// supported construct against the value jq 1.6 gives for it, and a table of
// constructs outside the subset that must be refused at compile time with
// the position and the construct named, so that CreateDeliveryStream refuses
// them instead of delivery failing later.
import { describe, expect, it } from 'vitest';
import { compileJq, JqRuntimeError, JqSyntaxError, strftime } from '../../gateway/firehose/jq.ts';
import { checkResponse } from '../../gateway/firehose/processors/lambda.ts';
import { splitDelimited, splitJsonObjects } from '../../gateway/firehose/processors/deaggregation.ts';

const record = {
  device: 'd-1',
  type: { device: 'mobile', event: 'click' },
  customer_id: 1234567890,
  event_timestamp: 1565382027,
  tags: ['a', 'b', 'c'],
  'odd-key': 'x',
  nested: { list: [{ id: 7 }] },
  flag: false,
  nothing: null,
};

describe('jq subset: evaluation', () => {
  const cases: Array<[string, unknown]> = [
    ['.', record],
    ['.device', 'd-1'],
    ['.type.device', 'mobile'],
    ['.missing', null],
    ['.missing.deeper', null],
    ['.tags[0]', 'a'],
    ['.tags[-1]', 'c'],
    ['.tags[9]', null],
    ['.nested.list[0].id', 7],
    ['."odd-key"', 'x'],
    ['.["odd-key"]', 'x'],
    ['.type["event"]', 'click'],
    ['.customer_id | tostring', '1234567890'],
    ['.device | tostring', 'd-1'],
    ['.type | tojson', '{"device":"mobile","event":"click"}'],
    ['.device | ascii_upcase', 'D-1'],
    ['.tags | length', 3],
    ['.type | keys', ['device', 'event']],
    ['.event_timestamp | strftime("%Y")', '2019'],
    ['.event_timestamp | strftime("%Y-%m-%d %H:%M:%S")', '2019-08-09 20:20:27'],
    ['.event_timestamp | todate', '2019-08-09T20:20:27Z'],
    ['.missing // "default"', 'default'],
    ['.flag // "f"', 'f'],
    ['.device // "x"', 'd-1'],
    ['.device?', 'd-1'],
    ['.device.sub?', null],
    ['(.type.device)', 'mobile'],
    ['"literal"', 'literal'],
    ['42', 42],
    ['true', true],
    ['null', null],
    ['{device: .device, kind: .type.device}', { device: 'd-1', kind: 'mobile' }],
    ['{"quoted key": .device, year: .event_timestamp | strftime("%Y")}', { 'quoted key': 'd-1', year: '2019' }],
    ['{customer_id:.customer_id,device:.type.device}', { customer_id: 1234567890, device: 'mobile' }],
    [' { a : .type | .event } ', { a: 'click' }],
  ];
  for (const [query, want] of cases) {
    it(query, () => expect(compileJq(query).evaluate(record as never)).toEqual(want));
  }

  it('names the object keys of a top-level object construction', () => {
    expect(compileJq('{device: .device, "b c": .x}').objectKeys).toEqual(['device', 'b c']);
    expect(compileJq('.device').objectKeys).toBeUndefined();
  });

  it('reports runtime errors as JqRuntimeError', () => {
    expect(() => compileJq('.device.sub').evaluate(record as never)).toThrow(JqRuntimeError);
    expect(() => compileJq('.device[0]').evaluate(record as never)).toThrow(/Cannot index string with number/);
    expect(() => compileJq('.device | strftime("%Y")').evaluate(record as never)).toThrow(JqRuntimeError);
    expect(() => strftime(0, '%Q')).toThrow(/%Q is not supported/);
  });
});

describe('jq subset: refused at compile time', () => {
  const refused: Array<[string, RegExp]> = [
    ['.a, .b', /several outputs/],
    ['.[]', /iteration/],
    ['.a[]', /iteration/],
    ['.a[1:2]', /slices/],
    ['..', /recursive descent/],
    ['.a + 1', /operator '\+'/],
    ['.a == "x"', /operator '='/],
    ['$x', /variables/],
    ['{(.a): 1}', /computed object keys/],
    ['{a}', /shorthand \{a\}/],
    ['[.a]', /array construction/],
    ['map(.a)', /function 'map'/],
    ['select(.a)', /function 'select'/],
    ['"\\(.a)"', /string interpolation/],
    ['.a |', /unexpected end/],
    ['{a: .b', /expected '}'/],
    ['strftime', /takes 1 argument/],
    ['.a.', /field name/],
    ['"open', /unterminated string/],
    ['.a and .b', /not supported/],
  ];
  for (const [query, message] of refused) {
    it(query, () => {
      let err: unknown;
      try {
        compileJq(query);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(JqSyntaxError);
      expect((err as Error).message).toMatch(message);
      expect((err as Error).message).toMatch(/at position \d+/);
    });
  }

  it('refuses overlong and overly nested queries', () => {
    expect(() => compileJq('.' + 'a'.repeat(6000))).toThrow(/longer than/);
    expect(() => compileJq('('.repeat(40) + '.' + ')'.repeat(40))).toThrow(/nesting deeper/);
  });
});

describe('Lambda response contract', () => {
  const ids = ['1', '2', '3'];
  const ok = (id: string, data = 'eA==') => ({ recordId: id, result: 'Ok', data });
  it('accepts each id once with known results and base64 data', () => {
    const v = checkResponse({ records: [ok('1'), { recordId: '2', result: 'Dropped' }, { recordId: '3', result: 'ProcessingFailed', metadata: { partitionKeys: { a: 1 } } }] }, ids);
    expect(v.ok).toBe(true);
    if (v.ok) expect(v.byId.get('3')).toEqual({ result: 'ProcessingFailed', partitionKeys: { a: '1' } });
  });
  const bad: Array<[string, unknown, string]> = [
    ['not an object', 'oops', 'Lambda.JsonProcessingException'],
    ['no records', {}, 'Lambda.JsonProcessingException'],
    ['a missing id', { records: [ok('1'), ok('2')] }, 'Lambda.MissingRecordId'],
    ['an unknown id', { records: [ok('1'), ok('2'), ok('9')] }, 'Lambda.MissingRecordId'],
    ['an id without recordId', { records: [ok('1'), ok('2'), { result: 'Ok', data: '' }] }, 'Lambda.MissingRecordId'],
    ['a duplicated id', { records: [ok('1'), ok('1'), ok('2'), ok('3')] }, 'Lambda.DuplicatedRecordId'],
    ['an unknown result', { records: [ok('1'), ok('2'), { recordId: '3', result: 'Fine', data: '' }] }, 'Lambda.JsonProcessingException'],
    ['data not base64', { records: [ok('1'), ok('2'), ok('3', 'not base64!')] }, 'Lambda.FunctionError'],
    ['Ok without data', { records: [ok('1'), ok('2'), { recordId: '3', result: 'Ok' }] }, 'Lambda.FunctionError'],
    ['partition keys not an object', { records: [ok('1'), ok('2'), { ...ok('3'), metadata: { partitionKeys: [1] } }] }, 'Lambda.JsonProcessingException'],
  ];
  for (const [what, response, code] of bad) {
    it(`fails the whole invocation for ${what} (${code})`, () => {
      const v = checkResponse(response, ids);
      expect(v.ok).toBe(false);
      if (!v.ok) expect(v.error[0]).toBe(code);
    });
  }
});

describe('RecordDeAggregation splitting', () => {
  it('splits consecutive and newline-separated JSON objects', () => {
    const parts = splitJsonObjects(Buffer.from('{"a":1}{"a":"}{"}\n{"b":{"c":[1,{}]}}  \n'));
    expect(parts?.map((p) => p.toString())).toEqual(['{"a":1}', '{"a":"}{"}', '{"b":{"c":[1,{}]}}']);
  });
  it('refuses arrays and broken JSON', () => {
    expect(splitJsonObjects(Buffer.from('[{"a":1},{"a":2}]'))).toBeUndefined();
    expect(splitJsonObjects(Buffer.from('{"a":1}{"a":'))).toBeUndefined();
    expect(splitJsonObjects(Buffer.from('{"a":1} x'))).toBeUndefined();
  });
  it('splits on a delimiter', () => {
    expect(splitDelimited(Buffer.from('a####b########c####'), Buffer.from('####')).map(String)).toEqual(['a', 'b', 'c']);
  });
});
