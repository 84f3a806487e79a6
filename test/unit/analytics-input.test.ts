/**
 * Proves how records become rows of the source stream: the JSON-to-SQL
 * conversions of dev/sch-mapping.html (each rule in a table), JSONPath row
 * paths, CSV delimiters, InputParallelism, and that a record that does not
 * fit goes to error_stream with its bytes while the others go on.
 */
import { describe, expect, it } from 'vitest';
import { compileApplication, SchemaError } from '../../gateway/analytics/engine.ts';
import { jsonInput, runApp, ts } from '../helpers/analytics-run.ts';

function mapped(type: string, value: unknown): unknown {
  const { rows, errors } = runApp(
    `CREATE STREAM "DESTINATION_SQL_STREAM" (v ${type}); CREATE PUMP "P" AS INSERT INTO "DESTINATION_SQL_STREAM" SELECT STREAM "v" FROM "SOURCE_SQL_STREAM_001";`,
    [{ at: 0, data: value === undefined ? {} : { v: value } }],
    { input: jsonInput({ v: type }) },
  );
  return errors.length ? `error: ${errors[0]!.ERROR_NAME as string}` : rows[0]!.V;
}

describe('JSON values to SQL types (dev/sch-mapping.html)', () => {
  it.each([
    // Null literal and missing elements.
    ['INTEGER', null, null],
    ['VARCHAR(8)', undefined, null],
    // Boolean literal.
    ['INTEGER', true, 1],
    ['DECIMAL(5,2)', false, 0],
    ['BOOLEAN', true, true],
    ['VARCHAR(3)', true, 'tru'],
    ['TIMESTAMP', true, 'error: Type_Conversion_Error'],
    // Number.
    ['INTEGER', 67321, 67321],
    ['INTEGER', 123.4, 'error: Type_Conversion_Error'],
    ['TINYINT', 180, 'error: Numeric_Overflow'],
    ['DOUBLE', 1.5, 1.5],
    ['BOOLEAN', 0, false],
    ['BOOLEAN', 5, true],
    ['VARCHAR(8)', 42, '42'],
    ['TIMESTAMP', 1000, 'error: Type_Conversion_Error'],
    // String.
    ['INTEGER', '42', 42],
    ['DOUBLE', '4.5e1', 45],
    ['INTEGER', 'x', 'error: Type_Conversion_Error'],
    ['BOOLEAN', 'TRUE', true],
    ['BOOLEAN', 'yes', false],
    ['VARCHAR(4)', 'John Doe', 'John'],
    ['DATE', '1992-02-14', '1992-02-14'],
    ['TIMESTAMP', '1992-02-14 18:35:44.0', '1992-02-14 18:35:44.000'],
    ['TIMESTAMP', '2018-08-01T20:17:20.797945', '2018-08-01 20:17:20.797'],
    ['TIMESTAMP', '2018-08-01T20:17:20Z', '2018-08-01 20:17:20.000'],
    ['TIMESTAMP', 'yesterday', 'error: Type_Conversion_Error'],
    // Array or object.
    ['VARCHAR(32)', [1, 'a'], '[1,"a"]'],
    ['VARCHAR(32)', { a: 1 }, '{"a":1}'],
    ['INTEGER', [1], 'error: Type_Conversion_Error'],
  ])('%s from %j', (type, value, expected) => {
    expect(mapped(type, value)).toEqual(expected);
  });
});

describe('record formats', () => {
  it('sends a record that is not JSON to error_stream with its bytes, and maps the next one', () => {
    const { rows, errors } = runApp(
      'CREATE STREAM "DESTINATION_SQL_STREAM" (v INTEGER); CREATE PUMP "P" AS INSERT INTO "DESTINATION_SQL_STREAM" SELECT STREAM "v" FROM "SOURCE_SQL_STREAM_001";',
      [
        { at: 1, data: '{"v": 1' },
        { at: 2, data: { v: 2 } },
      ],
      { input: jsonInput({ v: 'INTEGER' }) },
    );
    expect(rows).toEqual([{ ROWTIME: ts(2), V: 2 }]);
    expect(errors).toMatchObject([{ ERROR_NAME: 'Parse_Error', DATA_ROW: Buffer.from('{"v": 1').toString('hex'), DATA_ROWTIME: ts(1), PUMP_NAME: null }]);
  });

  it('maps CSV records by position, several rows per record, with the schema delimiters', () => {
    const input = {
      NamePrefix: 'SOURCE_SQL_STREAM',
      InputSchema: {
        RecordFormat: { RecordFormatType: 'CSV', MappingParameters: { CSVMappingParameters: { RecordRowDelimiter: '|', RecordColumnDelimiter: ';' } } },
        RecordColumns: [{ Name: 'LastName', SqlType: 'VARCHAR(16)' }, { Name: 'FirstName', SqlType: 'VARCHAR(16)' }, { Name: 'CustomerId', SqlType: 'INTEGER' }],
      },
    };
    const { rows } = runApp('CREATE STREAM "DESTINATION_SQL_STREAM" (l VARCHAR(16), f VARCHAR(16), id INTEGER); CREATE PUMP "P" AS INSERT INTO "DESTINATION_SQL_STREAM" SELECT STREAM * FROM "SOURCE_SQL_STREAM_001";', [{ at: 0, data: 'Doe;John;7|Roe;Jane|Poe;Ed;;extra' }], { input });
    expect(rows).toEqual([
      { ROWTIME: ts(0), L: 'Doe', F: 'John', ID: 7 },
      { ROWTIME: ts(0), L: 'Roe', F: 'Jane', ID: null },
      { ROWTIME: ts(0), L: 'Poe', F: 'Ed', ID: null },
    ]);
  });

  it('takes several rows from one JSON record with a RecordRowPath ending in [0:]', () => {
    const input = jsonInput({ id: 'INTEGER' }, undefined, '$.records[0:]');
    const { rows } = runApp('CREATE STREAM "DESTINATION_SQL_STREAM" (id INTEGER); CREATE PUMP "P" AS INSERT INTO "DESTINATION_SQL_STREAM" SELECT STREAM * FROM "SOURCE_SQL_STREAM_001";', [{ at: 0, data: { records: [{ id: 1 }, { id: 2 }] } }], { input });
    expect(rows.map((r) => r.ID)).toEqual([1, 2]);
  });

  it('creates <prefix>_001 .. _00n for InputParallelism and spreads records by partition key', () => {
    const { rows } = runApp(
      `CREATE STREAM "DESTINATION_SQL_STREAM" (src VARCHAR(4), v INTEGER);
       CREATE PUMP "P1" AS INSERT INTO "DESTINATION_SQL_STREAM" SELECT STREAM 'one', "v" FROM "SOURCE_SQL_STREAM_001";
       CREATE PUMP "P2" AS INSERT INTO "DESTINATION_SQL_STREAM" SELECT STREAM 'two', "v" FROM "SOURCE_SQL_STREAM_002";`,
      Array.from({ length: 20 }, (_, k) => ({ at: k, data: { v: k }, key: `key-${k}` })),
      { input: jsonInput({ v: 'INTEGER' }, 2) },
    );
    expect(rows.map((r) => r.V)).toEqual(Array.from({ length: 20 }, (_, k) => k));
    expect(new Set(rows.map((r) => r.SRC))).toEqual(new Set(['one', 'two']));
    // The same key always lands in the same in-application stream.
    const again = runApp(`CREATE STREAM "DESTINATION_SQL_STREAM" (v INTEGER); CREATE PUMP "P1" AS INSERT INTO "DESTINATION_SQL_STREAM" SELECT STREAM "v" FROM "SOURCE_SQL_STREAM_001";`, [{ at: 0, data: { v: 1 }, key: 'key-3' }, { at: 1, data: { v: 2 }, key: 'key-3' }], { input: jsonInput({ v: 'INTEGER' }, 2) });
    expect([0, 2]).toContain(again.rows.length);
  });

  it('refuses a schema with a bad SqlType, a missing Mapping or a bad JSONPath, naming the column', () => {
    const compile = (cols: unknown[]) => () => compileApplication('', { inputs: [{ NamePrefix: 'S', InputSchema: { RecordFormat: { RecordFormatType: 'JSON' }, RecordColumns: cols as never } }] });
    expect(compile([{ Name: 'a', SqlType: 'VARCHR(4)', Mapping: '$.a' }])).toThrow(new SchemaError("input S: column 1 (a): invalid SqlType 'VARCHR(4)': SQL error at line 1, column 1: unknown data type VARCHR"));
    expect(compile([{ Name: 'a', SqlType: 'INTEGER' }])).toThrow(new SchemaError('input S: column 1 (a) of a JSON input needs a Mapping'));
    expect(compile([{ Name: 'a', SqlType: 'INTEGER', Mapping: '$.a[x]' }])).toThrow(new SchemaError("input S: column a: JSONPath '$.a[x]': only [n], [0:] and ['name'] are supported, not [x]"));
    expect(compile([{ Name: 'a', SqlType: 'INTEGER', Mapping: '$.a[0:].b' }, { Name: 'b', SqlType: 'INTEGER', Mapping: '$.c[0:].d' }])).toThrow(new SchemaError('input S: only one array can be flattened per schema (column b)'));
  });
});
