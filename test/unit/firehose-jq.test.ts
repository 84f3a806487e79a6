// The jq subset behind MetadataExtraction (gateway/firehose/jq.ts): each
// supported construct gives what Debian's jq gives for the same filter and
// input (jq runs beside each case; .ci/run installs it), runtime errors are
// errors in jq too, and constructs outside the subset are refused at compile
// time with the position and the construct named, so that CreateDeliveryStream
// refuses them instead of delivery failing later: real jq accepts those, and
// rejects the ones refused as syntax errors.
import { spawnSync } from 'node:child_process';
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

/** Runs Debian's jq on the record: its outputs, its exit status and its error text. */
function jq(filter: string, input: unknown = record): { outputs: unknown[]; status: number | null; stderr: string } {
  const r = spawnSync('jq', ['-c', filter], { input: JSON.stringify(input), encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
  // jq may exit on a bad filter before reading its input (EPIPE): the status is what counts then.
  if (r.error && r.status === null) throw new Error(`jq is needed for this test (.ci/run installs Debian's jq): ${r.error.message}`);
  const outputs = r.status === 0 ? r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as unknown) : [];
  return { outputs, status: r.status, stderr: r.stderr };
}

describe('jq subset: evaluation, compared with jq', () => {
  const filters = [
    '.', '.device', '.type.device', '.missing', '.missing.deeper', '.tags[0]', '.tags[-1]', '.tags[9]', '.nested.list[0].id',
    '."odd-key"', '.["odd-key"]', '.type["event"]', '.customer_id | tostring', '.device | tostring', '.type | tojson',
    '.device | ascii_upcase', '.tags | length', '.type | keys', '.event_timestamp | strftime("%Y")',
    '.event_timestamp | strftime("%Y-%m-%d %H:%M:%S")', '.event_timestamp | todate', '.missing // "default"', '.flag // "f"',
    '.device // "x"', '.device?', '(.type.device)', '"literal"', '42', 'true', 'null', '{device: .device, kind: .type.device}',
    '{"quoted key": .device, year: .event_timestamp | strftime("%Y")}', '{customer_id:.customer_id,device:.type.device}',
    ' { a : .type | .event } ', '.nothing | length', '.flag | tostring', '.nested | tojson', '.device.sub? // "caught"',
  ];
  for (const filter of filters) {
    it(filter, () => {
      const reference = jq(filter);
      expect(reference.status, reference.stderr).toBe(0);
      expect(reference.outputs).toHaveLength(1);
      expect(compileJq(filter).evaluate(record as never)).toEqual(reference.outputs[0]);
    });
  }

  it('gives no value where jq gives no output: a failed optional step', () => {
    // jq prints nothing; the subset has one value per record, so it says null, which fails a partition key as nothing would.
    expect(jq('.device.sub?').outputs).toEqual([]);
    expect(compileJq('.device.sub?').evaluate(record as never)).toBeNull();
  });

  it('names the object keys of a top-level object construction', () => {
    expect(compileJq('{device: .device, "b c": .x}').objectKeys).toEqual(['device', 'b c']);
    expect(compileJq('.device').objectKeys).toBeUndefined();
  });

  it('fails at run time where jq fails, with jq 1.6\'s words', () => {
    // Firehose runs jq 1.6 (Developer Guide, "Understand partitioning keys"); later jq words these errors differently.
    const jq16 = spawnSync('jq', ['--version'], { encoding: 'utf8' }).stdout.trim() === 'jq-1.6';
    for (const [filter, words] of [
      ['.device.sub', 'Cannot index string with string "sub"'], ['.device.sub // "not caught"', 'Cannot index string with string "sub"'],
      ['.device[0]', 'Cannot index string with number'], ['.device | strftime("%Y")', 'strftime/1 requires parsed datetime inputs'],
    ] as const) {
      const reference = jq(filter);
      expect(reference.status, filter).toBe(5);
      if (jq16) expect(reference.stderr).toContain(words);
      expect(() => compileJq(filter).evaluate(record as never), filter).toThrow(JqRuntimeError);
    }
    expect(() => compileJq('.device.sub').evaluate(record as never)).toThrow('Cannot index string with string "sub"');
    expect(() => compileJq('.device[0]').evaluate(record as never)).toThrow('Cannot index string with number');
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
  /** Refused because jq itself rejects them; every other refusal is a valid jq filter outside the subset. */
  const jqSyntaxErrors = new Set(['.a |', '{a: .b', 'strftime', '.a.', '"open', '$x']);
  for (const [query, message] of refused) {
    it(query, () => {
      const reference = jq(query, { a: 'x', b: 'y' });
      if (jqSyntaxErrors.has(query)) expect(reference.status, reference.stderr).toBe(3);
      else expect(reference.status === 0 || reference.status === 5, `${query}: ${reference.stderr}`).toBe(true);
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
