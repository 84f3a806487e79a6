/**
 * Proves the KDA SQL lexer and parser: tokens and their positions, identifier
 * and literal rules, the statement forms of the dialect, and that syntax and
 * planning errors name the right line and column with a caret under it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileApplication, SqlError } from '../../gateway/analytics/engine.ts';
import { tokenize } from '../../gateway/analytics/sql/lexer.ts';
import { parseApplicationCode, parseExpression, parseTypeString } from '../../gateway/analytics/sql/parser.ts';

const input = {
  NamePrefix: 'SOURCE_SQL_STREAM',
  InputSchema: {
    RecordFormat: { RecordFormatType: 'JSON', MappingParameters: { JSONMappingParameters: { RecordRowPath: '$' } } },
    RecordColumns: [
      { Name: 'TICKER_SYMBOL', SqlType: 'VARCHAR(4)', Mapping: '$.TICKER_SYMBOL' },
      { Name: 'PRICE', SqlType: 'DOUBLE', Mapping: '$.PRICE' },
    ],
  },
};

function sqlError(code: string): SqlError {
  try {
    compileApplication(code, { inputs: [input] });
  } catch (err) {
    if (err instanceof SqlError) return err;
    throw err;
  }
  throw new Error('expected a SqlError');
}

describe('lexer', () => {
  it('upper-cases unquoted identifiers, keeps quoted ones, and records line and column', () => {
    const t = tokenize('select "Price",\n  ticker_symbol FROM s -- comment\n/* block\n */ WHERE x<>1.5e3');
    expect(t.map((x) => [x.kind, x.value, x.line, x.column])).toEqual([
      ['ident', 'SELECT', 1, 1],
      ['qident', 'Price', 1, 8],
      ['op', ',', 1, 15],
      ['ident', 'TICKER_SYMBOL', 2, 3],
      ['ident', 'FROM', 2, 17],
      ['ident', 'S', 2, 22],
      ['ident', 'WHERE', 4, 5],
      ['ident', 'X', 4, 11],
      ['op', '<>', 4, 12],
      ['number', '1.5e3', 4, 14],
      ['eof', '', 4, 19],
    ]);
  });

  it('reads doubled quotes inside strings and identifiers, and binary literals', () => {
    const t = tokenize(`'it''s' "a""b" X'3F67'`);
    expect(t.slice(0, 3).map((x) => [x.kind, x.value])).toEqual([
      ['string', "it's"],
      ['qident', 'a"b'],
      ['binary', '3F67'],
    ]);
  });

  it('keeps counting lines inside multi-line strings', () => {
    const t = tokenize("'a\nb'\n  x");
    expect(t[1]).toMatchObject({ value: 'X', line: 3, column: 3 });
  });

  it.each([
    ["'abc", 'unterminated string literal', 1, 1],
    ['a\n  "x', 'unterminated quoted identifier', 2, 3],
    ['a /* b', 'unterminated comment', 1, 3],
    ['a ~ b', "unexpected character '~'", 1, 3],
    ["X'123'", "invalid binary literal X'123'", 1, 1],
  ])('refuses %j: %s at %i:%i', (code, message, line, column) => {
    expect(() => tokenize(code)).toThrow(SqlError);
    try {
      tokenize(code);
    } catch (err) {
      expect(err).toMatchObject({ detail: message, line, column });
    }
  });

  it('returns a string literal unchanged for any text (property)', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const t = tokenize(`'${s.replace(/'/g, "''")}'`);
        expect(t[0]).toMatchObject({ kind: 'string', value: s });
      }),
    );
  });

  it('returns a quoted identifier unchanged for any non-empty text (property)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), (s) => {
        const t = tokenize(`"${s.replace(/"/g, '""')}"`);
        expect(t[0]).toMatchObject({ kind: 'qident', value: s });
      }),
    );
  });
});

describe('parser', () => {
  it('parses the statement forms of the dialect', () => {
    const code = `
      CREATE OR REPLACE STREAM "DEST" (a VARCHAR(4) NOT NULL, "b" DOUBLE PRECISION, c DECIMAL(5,2), d TIMESTAMP, e INTERVAL DAY TO SECOND) DESCRIPTION 'x';
      CREATE FUNCTION frac(x DOUBLE) RETURNS DOUBLE LANGUAGE SQL CONTAINS SQL RETURN x - FLOOR(x);
      CREATE VIEW v (t, p) AS SELECT STREAM ticker_symbol, price FROM "SOURCE_SQL_STREAM_001";
      CREATE PUMP p AS INSERT INTO "DEST" (a, "b")
        SELECT STREAM DISTINCT s.a, b FROM (SELECT STREAM * FROM x) AS s(a, b)
        UNION ALL SELECT STREAM a, b FROM y OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS y1 LEFT OUTER JOIN z ON y1.a = z.a;
      CREATE PUMP q AS INSERT INTO d SELECT STREAM t.r.COLUMN1, LAG(p, 2, 0) IGNORE NULLS OVER w
        FROM TABLE(f(CURSOR(SELECT STREAM * FROM s), 'a', 10)) AS t(r)
        WHERE a NOT BETWEEN 1 AND 2 AND b NOT IN (1, 2) AND c NOT LIKE 'x%' ESCAPE '!' AND d IS NOT NULL
        WINDOW w AS (PARTITION BY a ROWS 10 PRECEDING);
      CREATE PUMP r AS INSERT INTO d SELECT STREAM k, COUNT(*) FROM s
        WINDOWED BY STAGGER (PARTITION BY k RANGE INTERVAL '1' MINUTE) HAVING COUNT(*) > 1;
    `;
    const st = parseApplicationCode(code);
    expect(st.map((s) => s.kind)).toEqual(['createStream', 'createFunction', 'createView', 'createPump', 'createPump', 'createPump']);
    expect(st[0]).toMatchObject({ name: { name: 'DEST', quoted: true }, orReplace: true, description: 'x' });
    const cols = (st[0] as Extract<(typeof st)[0], { kind: 'createStream' }>).columns;
    expect(cols.map((c) => [c.name.name, c.type.name, c.notNull])).toEqual([
      ['A', 'VARCHAR', true],
      ['b', 'DOUBLE', false],
      ['C', 'DECIMAL', false],
      ['D', 'TIMESTAMP', false],
      ['E', 'INTERVAL', false],
    ]);
  });

  it('normalises the keyword forms of functions into calls', () => {
    expect(parseExpression('SUBSTRING(s FROM 2 FOR 3)')).toMatchObject({ kind: 'call', name: 'SUBSTRING', args: [{ kind: 'ref' }, { text: '2' }, { text: '3' }] });
    expect(parseExpression('POSITION(\'.com\' IN s)')).toMatchObject({ kind: 'call', name: 'POSITION', args: [{ value: '.com' }, { kind: 'ref' }] });
    expect(parseExpression('FLOOR(ROWTIME TO MINUTE)')).toMatchObject({ kind: 'call', name: 'FLOOR', args: [{ kind: 'ref' }, { kind: 'unit', unit: 'MINUTE' }] });
    expect(parseExpression("STEP(s.ROWTIME BY INTERVAL '60' SECOND)")).toMatchObject({ name: 'STEP', args: [{ kind: 'ref' }, { kind: 'interval', text: '60', startUnit: 'SECOND' }] });
    expect(parseExpression('EXTRACT(SECOND FROM t)')).toMatchObject({ name: 'EXTRACT', args: [{ kind: 'unit', unit: 'SECOND' }, { kind: 'ref' }] });
    expect(parseExpression("TRIM(LEADING 'x' FROM s)")).toMatchObject({ name: 'TRIM', args: [{ kind: 'trimSpec', where: 'LEADING' }, { value: 'x' }, { kind: 'ref' }] });
    expect(parseExpression('(a - b) SECOND / 10')).toMatchObject({ kind: 'binary', op: '/', left: { kind: 'intervalOf', startUnit: 'SECOND' } });
    expect(parseExpression('CURRENT_TIMESTAMP')).toMatchObject({ kind: 'call', name: 'CURRENT_TIMESTAMP', args: [] });
  });

  it('gives SQL precedence: AND binds tighter than OR, * tighter than +, NOT over comparison', () => {
    expect(parseExpression('a OR b AND c')).toMatchObject({ op: 'OR', right: { op: 'AND' } });
    expect(parseExpression('1 + 2 * 3 - 4')).toMatchObject({ op: '-', left: { op: '+', right: { op: '*' } } });
    expect(parseExpression('NOT a = b')).toMatchObject({ kind: 'unary', op: 'NOT', arg: { op: '=' } });
    expect(parseExpression("a || 'x' = b")).toMatchObject({ op: '=', left: { op: '||' } });
  });

  it('parses SqlType strings of the API', () => {
    expect(parseTypeString('VARCHAR(64)')).toMatchObject({ name: 'VARCHAR', precision: 64 });
    expect(parseTypeString('DECIMAL(5,2)')).toMatchObject({ name: 'DECIMAL', precision: 5, scale: 2 });
    expect(parseTypeString('CHARACTER VARYING(8)')).toMatchObject({ name: 'VARCHAR', precision: 8 });
    expect(() => parseTypeString('VARCHAR(4) x')).toThrow(/expected end of input/);
  });
});

describe('errors name the line and column', () => {
  it.each([
    ['CREATE STREAM "D" (a INTEGER);\nCREATE PUMP "P" AS INSERT INTO "D"\n  SELECT STREAM nosuch FROM "SOURCE_SQL_STREAM_001";', 3, 17, "column 'NOSUCH' not found"],
    ['CREATE STREAM "D" (a INTEGER)\nCREATE PUMP p AS INSERT INTO "D" SELECT STREAM 1 FROM s;', 2, 1, "expected ';' between statements, found \"CREATE\""],
    ['CREATE STREAM "D" (a INTEGER);\nCREATE PUMP "P" AS INSERT INTO "D"\n  SELECT STREAM price FROM "source_sql_stream_001";', 3, 28, 'stream or table \'source_sql_stream_001\' not found (did you mean "SOURCE_SQL_STREAM_001"? quoted names are case-sensitive)'],
    ['CREATE STREAM "D" (a INTEGER);\nCREATE PUMP "P" AS INSERT INTO "D"\n  SELECT STREAM COUNT(*) FROM "SOURCE_SQL_STREAM_001";', 3, 17, "aggregate COUNT on a stream needs GROUP BY with a monotonic expression (such as STEP(ROWTIME BY INTERVAL '1' MINUTE)) or an OVER window"],
    ['CREATE STREAM "D" (a VARCHAR(4), n BIGINT);\nCREATE PUMP "P" AS INSERT INTO "D"\n  SELECT STREAM ticker_symbol, COUNT(*) FROM "SOURCE_SQL_STREAM_001"\n  GROUP BY ticker_symbol;', 4, 12, 'GROUP BY on a stream needs a monotonic expression, such as STEP("SOURCE_SQL_STREAM_001".ROWTIME BY INTERVAL \'60\' SECOND) or FLOOR(ROWTIME TO MINUTE)'],
    ['CREATE STREAM "D" (a VARCHAR(4), p DOUBLE);\nCREATE PUMP "P" AS INSERT INTO "D"\n  SELECT STREAM ticker_symbol, price FROM "SOURCE_SQL_STREAM_001"\n  GROUP BY ticker_symbol, FLOOR(ROWTIME TO MINUTE);', 3, 32, "column 'PRICE' must appear in GROUP BY (or WINDOWED BY ... PARTITION BY) or be inside an aggregate"],
    ['CREATE STREAM "D" (a INTEGER);\nCREATE PUMP "P" AS INSERT INTO "D"\n  SELECT STREAM ticker_symbol FROM "SOURCE_SQL_STREAM_001";', 3, 17, 'cannot assign VARCHAR(4) to column A of type INTEGER'],
    ['CREATE STREAM "D" (a INTEGER, b INTEGER);\nCREATE PUMP "P" AS INSERT INTO "D"\n  SELECT STREAM 1 FROM "SOURCE_SQL_STREAM_001";', 3, 3, 'the query has 1 columns but the stream it inserts into has 2'],
    ['CREATE STREAM "D" (a DOUBLE);\nCREATE PUMP "P" AS INSERT INTO "D"\n  SELECT STREAM price FROM "SOURCE_SQL_STREAM_001" ORDER BY price;', 3, 61, 'ORDER BY on a stream must start with an ascending expression of ROWTIME, such as FLOOR(s.ROWTIME TO SECOND)'],
    ['CREATE STREAM "D" (a DOUBLE);\nCREATE PUMP "P" AS INSERT INTO "D"\n  SELECT STREAM price + \'x\' FROM "SOURCE_SQL_STREAM_001";', 3, 23, "cannot apply + to DOUBLE and CHAR(1)"],
    ['CREATE STREAM "D" (a DOUBLE);\nCREATE PUMP "P" AS INSERT INTO "D" SELECT STREAM a FROM "D";', 2, 1, 'pump \'P\' makes a cycle: D -> D'],
    ['CREATE STREAM "D" (a DOUBLE);\nSELECT STREAM a FROM "D";', 2, 1, 'a query on its own is not allowed in application code; insert its rows with CREATE PUMP ... AS INSERT INTO ... SELECT STREAM, found "SELECT"'],
    ['CREATE STREAM "D" (a DOUBLE);\nCREATE PUMP "P" AS INSERT INTO "D"\n  SELECT STREAM AVG(price) OVER (PARTITION BY ticker_symbol RANGE UNBOUNDED PRECEDING) FROM "SOURCE_SQL_STREAM_001";', 3, 61, 'UNBOUNDED PRECEDING windows are not allowed on streams; give a RANGE or ROWS size'],
  ])('%#: %j', (code, line, column, detail) => {
    const err = sqlError(code);
    expect({ line: err.line, column: err.column, detail: err.detail }).toEqual({ line, column, detail });
  });

  it('describes the error with the line and a caret under the column', () => {
    const code = 'CREATE STREAM "D" (a INTEGER);\nCREATE PUMP "P" AS INSERT INTO "D"\n  SELECT STREAM nosuch FROM "SOURCE_SQL_STREAM_001";';
    expect(sqlError(code).describe(code)).toBe(`SQL error at line 3, column 17: column 'NOSUCH' not found\n  SELECT STREAM nosuch FROM "SOURCE_SQL_STREAM_001";\n                ^`);
  });
});
