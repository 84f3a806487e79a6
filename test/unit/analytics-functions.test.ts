/**
 * Proves the scalar functions and operators one by one through a running
 * application: each row of the tables below is compiled into a pump, fed one
 * record, and the value that reaches the destination stream is compared.
 * Examples quoted from the SQL Reference name their page.
 */
import { describe, expect, it } from 'vitest';
import { compileApplication, SqlError } from '../../gateway/analytics/engine.ts';
import { runApp } from '../helpers/analytics-run.ts';

const columns = { S: 'VARCHAR(64)', N: 'INTEGER', D: 'DOUBLE', T: 'TIMESTAMP', B: 'BOOLEAN' };
const record = { S: 'Hello World', N: 7, D: 2.5, T: '2004-09-30 13:48:23.456', B: true };

function evaluate(expr: string, type: string, data: Record<string, unknown> = record): unknown {
  const { rows, errors } = runApp(
    `CREATE STREAM "DESTINATION_SQL_STREAM" (v ${type});
     CREATE PUMP "P" AS INSERT INTO "DESTINATION_SQL_STREAM" SELECT STREAM ${expr} FROM "SOURCE_SQL_STREAM_001";`,
    [{ at: 0, data }],
    { columns },
  );
  if (errors.length) return { error: errors[0]!.ERROR_NAME, message: errors[0]!.MESSAGE };
  return rows[0]!.V;
}

describe('string functions', () => {
  it.each([
    ['CHAR_LENGTH(s)', 'INTEGER', 11],
    ['CHARACTER_LENGTH(\'abc\')', 'INTEGER', 3],
    ['UPPER(s)', 'VARCHAR(64)', 'HELLO WORLD'],
    ['LOWER(s)', 'VARCHAR(64)', 'hello world'],
    ["INITCAP('hello wORLD-wide web')", 'VARCHAR(64)', 'Hello World-Wide Web'],
    ["POSITION('World' IN s)", 'INTEGER', 7],
    ["POSITION('x' IN s)", 'INTEGER', 0],
    ['SUBSTRING(s FROM 7)', 'VARCHAR(64)', 'World'],
    ['SUBSTRING(s FROM 1 FOR 5)', 'VARCHAR(64)', 'Hello'],
    ['SUBSTRING(s, 0, 3)', 'VARCHAR(64)', 'He'],
    ["TRIM(BOTH '*' FROM '**ab**')", 'VARCHAR(64)', 'ab'],
    ["TRIM(LEADING '*' FROM '**ab**')", 'VARCHAR(64)', 'ab**'],
    ["TRIM(TRAILING FROM '  ab  ')", 'VARCHAR(64)', '  ab'],
    ["TRIM('  ab  ')", 'VARCHAR(64)', 'ab'],
    ["OVERLAY('abcdef' PLACING 'XY' FROM 3)", 'VARCHAR(64)', 'abXYef'],
    ["OVERLAY('abcdef' PLACING 'XY' FROM 3 FOR 1)", 'VARCHAR(64)', 'abXYdef'],
    ["s || '!' || n", 'VARCHAR(64)', 'Hello World!7'],
    // dev/examples-transforming-strings-regexreplace.html
    ["REGEX_REPLACE('http://www.amazon.com', 'http://', 'https://', 1, 0)", 'VARCHAR(64)', 'https://www.amazon.com'],
    ["REGEX_REPLACE('aaa', 'a', 'b', 2, 0)", 'VARCHAR(64)', 'abb'],
    ["REGEX_REPLACE('abcabc', '(b)(c)', '$2$1', 1, 2)", 'VARCHAR(64)', 'abcacb'],
    // dev/examples-transforming-strings-substring.html: the company name out of the referrer.
    ["SUBSTRING('http://www.amazon.com', 12, (POSITION('.com' IN 'http://www.amazon.com') - POSITION('www.' IN 'http://www.amazon.com') - 4))", 'VARCHAR(32)', 'amazon'],
    ["s LIKE 'Hello%'", 'BOOLEAN', true],
    ["s LIKE 'h_llo%'", 'BOOLEAN', false],
    ["'a%b' LIKE 'a!%b' ESCAPE '!'", 'BOOLEAN', true],
    ["'TECHNOLOGY' SIMILAR TO '%TECH%'", 'BOOLEAN', true],
    ["'abc' SIMILAR TO '(a|x)(b|y)c'", 'BOOLEAN', true],
    ['s', 'VARCHAR(5)', 'Hello'],
  ])('%s', (expr, type, expected) => {
    expect(evaluate(expr, type)).toEqual(expected);
  });
});

describe('numeric functions and operators', () => {
  it.each([
    ['n / 2', 'INTEGER', 3],
    ['-n / 2', 'INTEGER', -3],
    ['n / 2.0', 'DOUBLE', 3.5],
    ['d * 2 + n', 'DOUBLE', 12],
    ['MOD(n, 4)', 'INTEGER', 3],
    ['ABS(-d)', 'DOUBLE', 2.5],
    ['CEIL(d)', 'DOUBLE', 3],
    ['FLOOR(-d)', 'DOUBLE', -3],
    ['POWER(2, 10)', 'DOUBLE', 1024],
    ['EXP(0)', 'DOUBLE', 1],
    ['LN(1)', 'DOUBLE', 0],
    ['LOG10(1000)', 'DOUBLE', 3],
    // sqlref/sql-reference-step.html, "STEP with an Integer Argument".
    ['STEP(23 BY 5)', 'INTEGER', 20],
    ['STEP(30 BY 10)', 'INTEGER', 30],
    ['CAST(d AS INTEGER)', 'INTEGER', 2],
    ["CAST('42' AS BIGINT)", 'BIGINT', 42],
    ['CAST(n AS VARCHAR(8))', 'VARCHAR(8)', '7'],
    ['CAST(d AS VARCHAR(8))', 'VARCHAR(8)', '2.5'],
    // REAL is a 32-bit float printed with Java's Float.toString digits; widened to DOUBLE it keeps the float's exact value.
    ['33.11', 'REAL', 33.11],
    ['CAST(CAST(0.1 AS REAL) AS VARCHAR(16))', 'VARCHAR(16)', '0.1'],
    ['CAST(CAST(1.0E10 AS REAL) AS VARCHAR(16))', 'VARCHAR(16)', '1.0E10'],
    ['CAST(CAST(0.1 AS REAL) AS DOUBLE)', 'DOUBLE', 0.10000000149011612],
    ['CAST(16777217 AS REAL)', 'REAL', 16777216],
    ['CAST(3 AS DOUBLE)', 'VARCHAR(8)', { error: undefined }],
    ['n BETWEEN 1 AND 7', 'BOOLEAN', true],
    ['n NOT BETWEEN 8 AND 1', 'BOOLEAN', true],
    ['n BETWEEN SYMMETRIC 8 AND 1', 'BOOLEAN', true],
    ['n IN (1, 7, 9)', 'BOOLEAN', true],
    ['n NOT IN (1, 9)', 'BOOLEAN', true],
  ])('%s', (expr, type, expected) => {
    if (typeof expected === 'object') {
      expect(() => compileApplication(`CREATE STREAM "D" (v ${type}); CREATE PUMP "P" AS INSERT INTO "D" SELECT STREAM ${expr} FROM "SOURCE_SQL_STREAM_001";`, { inputs: [] })).toThrow(SqlError);
      return;
    }
    expect(evaluate(expr, type)).toEqual(expected);
  });

  it('sends division by zero and impossible casts to error_stream', () => {
    expect(evaluate('n / 0', 'INTEGER')).toEqual({ error: 'Division_By_Zero', message: 'division by zero' });
    expect(evaluate('d / 0', 'DOUBLE')).toEqual({ error: 'Division_By_Zero', message: 'division by zero' });
    expect(evaluate("CAST('x1' AS INTEGER)", 'INTEGER')).toEqual({ error: 'Type_Conversion_Error', message: "cannot convert 'x1' to INTEGER" });
    expect(evaluate('CAST(300 AS TINYINT)', 'INTEGER')).toEqual({ error: 'Numeric_Overflow', message: 'value 300 out of range for TINYINT' });
  });
});

describe('NULL, CASE and boolean logic', () => {
  const nulls = { S: null, N: null, D: null, T: null, B: null };
  it.each([
    ['n + 1', 'INTEGER', null],
    ['COALESCE(n, 5)', 'INTEGER', 5],
    ['COALESCE(s, \'x\', \'y\')', 'VARCHAR(4)', 'x'],
    ['NULLIF(1, 1)', 'INTEGER', null],
    ['NULLIF(2, 1)', 'INTEGER', 2],
    ['b AND FALSE', 'BOOLEAN', false],
    ['b OR TRUE', 'BOOLEAN', true],
    ['b AND TRUE', 'BOOLEAN', null],
    ['NOT b', 'BOOLEAN', null],
    ['n IS NULL', 'BOOLEAN', true],
    ['b IS UNKNOWN', 'BOOLEAN', true],
    ['CASE WHEN n > 1 THEN \'big\' WHEN n IS NULL THEN \'none\' ELSE \'small\' END', 'VARCHAR(8)', 'none'],
    ['CASE n WHEN 1 THEN \'one\' ELSE \'other\' END', 'VARCHAR(8)', 'other'],
    ['TIMESTAMP_TO_CHAR(\'yyyy\', t)', 'VARCHAR(8)', 'null'],
  ])('%s with NULL inputs', (expr, type, expected) => {
    expect(evaluate(expr, type, nulls)).toEqual(expected);
  });
});

describe('date and time functions', () => {
  it.each([
    // sqlref/sql-reference-step.html, "STEP with a Date Type Argument".
    ["STEP(CAST('2004-09-30 13:48:23' AS TIMESTAMP) BY INTERVAL '10' SECOND)", 'TIMESTAMP', '2004-09-30 13:48:20.000'],
    ["STEP(t BY INTERVAL '2' HOUR)", 'TIMESTAMP', '2004-09-30 12:00:00.000'],
    ["STEP(t BY INTERVAL '1' MONTH)", 'TIMESTAMP', '2004-09-01 00:00:00.000'],
    ['FLOOR(t TO MINUTE)', 'TIMESTAMP', '2004-09-30 13:48:00.000'],
    ['FLOOR(t TO DAY)', 'TIMESTAMP', '2004-09-30 00:00:00.000'],
    ['FLOOR(t TO YEAR)', 'TIMESTAMP', '2004-01-01 00:00:00.000'],
    ['CEIL(t TO HOUR)', 'TIMESTAMP', '2004-09-30 14:00:00.000'],
    ['EXTRACT(SECOND FROM t)', 'INTEGER', 23],
    ['EXTRACT(YEAR FROM t)', 'INTEGER', 2004],
    ['EXTRACT(MONTH FROM t)', 'INTEGER', 9],
    ['EXTRACT(DAY FROM t)', 'INTEGER', 30],
    ['EXTRACT(HOUR FROM t)', 'INTEGER', 13],
    ["t - INTERVAL '5' MINUTE", 'TIMESTAMP', '2004-09-30 13:43:23.456'],
    ["t + INTERVAL '1' MONTH", 'TIMESTAMP', '2004-10-30 13:48:23.456'],
    ["t + INTERVAL '1 02:00:00' DAY TO SECOND", 'TIMESTAMP', '2004-10-01 15:48:23.456'],
    ["TSDIFF(t, TIMESTAMP '2004-09-30 13:48:20.000')", 'BIGINT', 3456],
    ["UNIX_TIMESTAMP(TIMESTAMP '1970-01-01 00:00:01')", 'BIGINT', 1000],
    ['TO_TIMESTAMP(86400000)', 'TIMESTAMP', '1970-01-02 00:00:00.000'],
    ["CAST((t - TIMESTAMP '2004-09-30 13:00:00') MINUTE AS INTEGER)", 'INTEGER', 48],
    ["FLOOR((t - TIMESTAMP '1970-01-01 00:00:00') SECOND / 10 TO SECOND) = FLOOR((TIMESTAMP '2004-09-30 13:48:29' - TIMESTAMP '1970-01-01 00:00:00') SECOND / 10 TO SECOND)", 'BOOLEAN', true],
    // dev/app-string-datetime-manipulation.html: hh is the 12-hour clock.
    ["TIMESTAMP_TO_CHAR('yyyy-MM-dd hh:mm:ss', t)", 'VARCHAR(50)', '2004-09-30 01:48:23'],
    ["TIMESTAMP_TO_CHAR('yyyy-MM-dd HH:mm:ss.SSS a EEE MMM', t)", 'VARCHAR(50)', '2004-09-30 13:48:23.456 PM Thu Sep'],
    // sqlref/sql-reference-char-to-timestamp.html: '2009-09-16 03:15:24' with 'yyyy-MM-dd hh:mm:ss'.
    ["CHAR_TO_TIMESTAMP('yyyy-MM-dd hh:mm:ss', '2009-09-16 03:15:24')", 'TIMESTAMP', '2009-09-16 03:15:24.000'],
    ["CHAR_TO_TIMESTAMP('yyyy-MM', '2009-09')", 'TIMESTAMP', '2009-09-01 00:00:00.000'],
    ["CHAR_TO_TIMESTAMP('yyyyMMddHHmmss', '20090916151524')", 'TIMESTAMP', '2009-09-16 15:15:24.000'],
    ["CHAR_TO_TIMESTAMP('dd/MMM/yyyy:HH:mm:ss Z', '25/Mar/2018:15:25:37 -0700')", 'TIMESTAMP', '2018-03-25 22:25:37.000'],
    ["CHAR_TO_DATE('yyyy-MM-dd', '2009-09-16')", 'DATE', '2009-09-16'],
    ["CHAR_TO_TIME('HH:mm', '15:24')", 'TIME', '15:24:00.000'],
    ["DATE_TO_CHAR('dd.MM.yyyy', DATE '2009-09-16')", 'VARCHAR(16)', '16.09.2009'],
    ["CAST('1992-02-14 18:35:44.0' AS TIMESTAMP)", 'TIMESTAMP', '1992-02-14 18:35:44.000'],
    ["CAST(t AS VARCHAR(32))", 'VARCHAR(32)', '2004-09-30 13:48:23.456'],
    ["CAST(t AS DATE)", 'DATE', '2004-09-30'],
    ["t > '2004-01-01 00:00:00'", 'BOOLEAN', true],
  ])('%s', (expr, type, expected) => {
    expect(evaluate(expr, type)).toEqual(expected);
  });

  it('refuses a text that does not match the pattern', () => {
    expect(evaluate("CHAR_TO_TIMESTAMP('yyyy-MM-dd', 'Sept 9')", 'TIMESTAMP')).toEqual({ error: 'Type_Conversion_Error', message: "cannot parse 'Sept 9' with format 'yyyy-MM-dd'" });
  });
});

describe('log parsers and user functions', () => {
  it('REGEX_LOG_PARSE gives a ROW read through a sub-query alias (dev/examples-transforming-strings-regexlogparse.html)', () => {
    const line = '203.0.113.24 - - [25/Mar/2018:15:25:37 -0700] "GET /index.php HTTP/1.1" 200 125 "-" "Mozilla/5.0 [en] Gecko/20100101 Firefox/52.0"';
    const { rows } = runApp(
      `CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (logentry VARCHAR(24), match1 VARCHAR(24), match2 VARCHAR(24));
       CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
         SELECT STREAM T.LOGENTRY, T.REC.COLUMN1, T.REC.COLUMN2
         FROM (SELECT STREAM LOGENTRY, REGEX_LOG_PARSE(LOGENTRY, '(\\w.+) (\\d.+) (\\w.+) (\\w.+)') AS REC FROM SOURCE_SQL_STREAM_001) AS T;`,
      [{ at: 0, data: { LOGENTRY: line } }],
      { columns: { LOGENTRY: 'VARCHAR(256)' } },
    );
    const m = /^(\w.+) (\d.+) (\w.+) (\w.+)$/.exec(line)!;
    expect(rows).toEqual([{ ROWTIME: '2024-01-01 00:00:00.000', LOGENTRY: line.slice(0, 24), MATCH1: m[1]!.slice(0, 24), MATCH2: m[2]!.slice(0, 24) }]);
  });

  it('W3C_LOG_PARSE COMMON splits a common log line into seven columns (dev/examples-transforming-strings-w3clogparse.html)', () => {
    const { rows } = runApp(
      `CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (column1 VARCHAR(16), column2 VARCHAR(16), column3 VARCHAR(16), column4 VARCHAR(32), column5 VARCHAR(40), column6 VARCHAR(16), column7 VARCHAR(16));
       CREATE OR REPLACE PUMP "myPUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
         SELECT STREAM l.r.COLUMN1, l.r.COLUMN2, l.r.COLUMN3, l.r.COLUMN4, l.r.COLUMN5, l.r.COLUMN6, l.r.COLUMN7
         FROM (SELECT STREAM W3C_LOG_PARSE("log", 'COMMON') FROM "SOURCE_SQL_STREAM_001") AS l(r);`,
      [{ at: 0, data: { log: '192.168.254.30 - John [24/May/2004:22:01:02 -0700] "GET /icons/apache_pb.gif HTTP/1.1" 304 0' } }],
      { columns: { log: 'VARCHAR(256)' } },
    );
    expect(rows).toEqual([{ ROWTIME: '2024-01-01 00:00:00.000', COLUMN1: '192.168.254.30', COLUMN2: '-', COLUMN3: 'John', COLUMN4: '24/May/2004:22:01:02 -0700', COLUMN5: 'GET /icons/apache_pb.gif HTTP/1.1', COLUMN6: '304', COLUMN7: '0' }]);
  });

  it('VARIABLE_COLUMN_LOG_PARSE splits on a delimiter into named, typed fields (dev/examples-transforming-strings-variablecolumnlogparse.html)', () => {
    const { rows } = runApp(
      `CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM"("column_A" VARCHAR(16), "column_B" VARCHAR(16), "column_C" VARCHAR(16), "COL_1" VARCHAR(16), "COL_2" VARCHAR(16), "COL_3" VARCHAR(16));
       CREATE OR REPLACE PUMP "SECOND_STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
         SELECT STREAM t."Col_A", t."Col_B", t."Col_C", t.r."COL_1", t.r."COL_2", t.r."COL_3"
         FROM (SELECT STREAM "Col_A", "Col_B", "Col_C",
                 VARIABLE_COLUMN_LOG_PARSE("Col_E_Unstructured", 'COL_1 TYPE VARCHAR(16), COL_2 TYPE VARCHAR(16), COL_3 TYPE VARCHAR(16)', ',') AS r
               FROM "SOURCE_SQL_STREAM_001") as t;`,
      [{ at: 0, data: { Col_A: 'a', Col_B: 'b', Col_C: 'c', Col_E_Unstructured: 'x,y,z' } }],
      { columns: { Col_A: 'VARCHAR(16)', Col_B: 'VARCHAR(16)', Col_C: 'VARCHAR(16)', Col_E_Unstructured: 'VARCHAR(64)' } },
    );
    expect(rows).toEqual([{ ROWTIME: '2024-01-01 00:00:00.000', column_A: 'a', column_B: 'b', column_C: 'c', COL_1: 'x', COL_2: 'y', COL_3: 'z' }]);
  });

  const parse = (expr: string, columns: string, line: string) =>
    runApp(
      `CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (${columns});
       CREATE OR REPLACE PUMP "P" AS INSERT INTO "DESTINATION_SQL_STREAM" SELECT STREAM ${columns.split(', ').map((c) => `t.r.${c.split(' ')[0]!.startsWith('"') ? c.split(' ')[0] : c.split(' ')[0]!.toUpperCase()}`).join(', ')} FROM (SELECT STREAM ${expr} AS r FROM "SOURCE_SQL_STREAM_001") AS t;`,
      [{ at: 0, data: { LINE: line } }],
      { columns: { LINE: 'VARCHAR(256)' } },
    ).rows.map(({ ROWTIME: _, ...rest }) => rest);

  it('FIXED_COLUMN_LOG_PARSE reads fixed-width fields from 0-based START for FOR characters (or to the end), with a TIMESTAMP format (sqlref/sql-reference-fixed-column-log-parse.html)', () => {
    const line = 'web-01  200 24/May/2004:22:01:02 GET /index.html';
    expect(parse(`FIXED_COLUMN_LOG_PARSE(LINE, 'HOST TYPE VARCHAR(8) START 0 FOR 8, STATUS TYPE INTEGER NOT NULL START 8 FOR 3, "when" TYPE TIMESTAMP ''dd/MMM/yyyy:HH:mm:ss'' START 12 FOR 20, REQ TYPE VARCHAR(32) START 33')`, 'host VARCHAR(8), status INTEGER, "when" TIMESTAMP, req VARCHAR(32)', line))
      .toEqual([{ HOST: 'web-01', STATUS: 200, when: '2004-05-24 22:01:02.000', REQ: 'GET /index.html' }]);
  });

  it('VARIABLE_COLUMN_LOG_PARSE honours its escape and a two-character quote string (sqlref/sql-reference-variable-column-log-parse.html)', () => {
    expect(parse(`VARIABLE_COLUMN_LOG_PARSE(LINE, 'A TYPE VARCHAR(16), B TYPE VARCHAR(16), C TYPE INTEGER', ',', '\\', '[]')`, 'a VARCHAR(16), b VARCHAR(16), c INTEGER', 'a\\,b,[x,y],7'))
      .toEqual([{ A: 'a,b', B: 'x,y', C: 7 }]);
  });

  it('FAST_REGEX_LOG_PARSER takes the first match anywhere; SYS_LOG_PARSE splits the syslog time from the message (sqlref pages of each)', () => {
    expect(parse(`FAST_REGEX_LOG_PARSER(LINE, '(\\d+) ms')`, 'column1 VARCHAR(16)', 'took 35 ms then 40 ms')).toEqual([{ COLUMN1: '35' }]);
    expect(parse('SYS_LOG_PARSE(LINE)', 'column1 TIMESTAMP, column2 VARCHAR(64)', 'Mar  7 04:02:16 host sshd[1]: Accepted')).toEqual([{ COLUMN1: '1970-03-07 04:02:16.000', COLUMN2: 'host sshd[1]: Accepted' }]);
  });

  it('expands CREATE FUNCTION bodies where they are called', () => {
    const { rows } = runApp(
      `CREATE FUNCTION frac(x DOUBLE) RETURNS DOUBLE LANGUAGE SQL CONTAINS SQL RETURN x - FLOOR(x);
       CREATE FUNCTION label(x DOUBLE, y VARCHAR(8)) RETURNS VARCHAR(16) RETURN y || ':' || CAST(frac(x) * 4 AS VARCHAR(8));
       CREATE STREAM "DESTINATION_SQL_STREAM" (v VARCHAR(16));
       CREATE PUMP "P" AS INSERT INTO "DESTINATION_SQL_STREAM" SELECT STREAM label(d, 'q') FROM "SOURCE_SQL_STREAM_001";`,
      [{ at: 0, data: record }],
      { columns },
    );
    expect(rows).toEqual([{ ROWTIME: '2024-01-01 00:00:00.000', V: 'q:2.0' }]);
  });
});
