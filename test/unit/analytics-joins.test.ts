/**
 * Proves joins, DISTINCT, views and UNION ALL: a stream joined with a
 * reference table (INNER drops, LEFT keeps unmatched rows), two streams
 * joined over a window (each arriving row meets the other side's window;
 * outer rows come out with NULLs once they can no longer match), and the
 * set operations of the dialect.
 */
import { describe, expect, it } from 'vitest';
import { runApp, ts } from '../helpers/analytics-run.ts';

const columns = { KIND: 'VARCHAR(8)', ID: 'INTEGER', TICKER: 'VARCHAR(4)', AMOUNT: 'DOUBLE' };

const reference = (csv: string) => [
  {
    TableName: 'Companies',
    ReferenceSchema: {
      RecordFormat: { RecordFormatType: 'CSV', MappingParameters: { CSVMappingParameters: { RecordRowDelimiter: '\n', RecordColumnDelimiter: ',' } } },
      RecordColumns: [{ Name: 'Ticker', SqlType: 'VARCHAR(4)' }, { Name: 'Company', SqlType: 'VARCHAR(16)' }],
    },
    data: csv,
  },
];

describe('stream to table joins', () => {
  const records = ['AMZN', 'XYZ', 'MSFT'].map((ticker, k) => ({ at: k, data: { TICKER: ticker } }));
  const code = (join: string) => `
    CREATE STREAM "DESTINATION_SQL_STREAM" (ticker VARCHAR(4), company VARCHAR(16));
    CREATE PUMP "P" AS INSERT INTO "DESTINATION_SQL_STREAM"
      SELECT STREAM s.ticker, c."Company" FROM "SOURCE_SQL_STREAM_001" AS s ${join} "Companies" AS c ON s.ticker = c."Ticker";`;

  it('INNER keeps matched rows only; several matching table rows give several rows', () => {
    const { rows } = runApp(code('JOIN'), records, { columns, references: reference('AMZN,Amazon\nMSFT,Microsoft\nMSFT,Microsoft Corp\n') });
    expect(rows).toEqual([
      { ROWTIME: ts(0), TICKER: 'AMZN', COMPANY: 'Amazon' },
      { ROWTIME: ts(2), TICKER: 'MSFT', COMPANY: 'Microsoft' },
      { ROWTIME: ts(2), TICKER: 'MSFT', COMPANY: 'Microsoft Corp' },
    ]);
  });

  it('LEFT keeps unmatched stream rows with NULLs', () => {
    const { rows } = runApp(code('LEFT OUTER JOIN'), records, { columns, references: reference('AMZN,Amazon\n') });
    expect(rows.map((r) => r.COMPANY)).toEqual(['Amazon', null, null]);
  });

  it('evaluates conditions that are not equalities on every table row', () => {
    const { rows } = runApp(
      `CREATE STREAM "DESTINATION_SQL_STREAM" (ticker VARCHAR(4), company VARCHAR(16));
       CREATE PUMP "P" AS INSERT INTO "DESTINATION_SQL_STREAM"
         SELECT STREAM s.ticker, c."Company" FROM "Companies" AS c JOIN "SOURCE_SQL_STREAM_001" AS s ON c."Ticker" < s.ticker;`,
      records, { columns, references: reference('AAA,First\nZZZ,Last\n') });
    expect(rows).toEqual([
      { ROWTIME: ts(0), TICKER: 'AMZN', COMPANY: 'First' },
      { ROWTIME: ts(1), TICKER: 'XYZ', COMPANY: 'First' },
      { ROWTIME: ts(2), TICKER: 'MSFT', COMPANY: 'First' },
    ]);
  });
});

describe('stream to stream joins', () => {
  const split = `
    CREATE STREAM "OrderStream" (orderId INTEGER, ticker VARCHAR(4), amount DOUBLE);
    CREATE STREAM "TradeStream" (tradeId INTEGER, orderId INTEGER, amount DOUBLE);
    CREATE PUMP "ORDERS" AS INSERT INTO "OrderStream" SELECT STREAM id, ticker, amount FROM "SOURCE_SQL_STREAM_001" WHERE kind = 'order';
    CREATE PUMP "TRADES" AS INSERT INTO "TradeStream" SELECT STREAM id * 100, id, amount FROM "SOURCE_SQL_STREAM_001" WHERE kind = 'trade';`;
  const events = [
    { at: 0, data: { KIND: 'trade', ID: 1, AMOUNT: 10 } },
    { at: 30, data: { KIND: 'order', ID: 1, TICKER: 'AMZN', AMOUNT: 11 } },
    { at: 40, data: { KIND: 'order', ID: 2, TICKER: 'INTC', AMOUNT: 12 } },
    { at: 100, data: { KIND: 'trade', ID: 2, AMOUNT: 13 } },
    { at: 100, data: { KIND: 'order', ID: 2, TICKER: 'INTC', AMOUNT: 14 } },
    { at: 200, data: { KIND: 'order', ID: 3, TICKER: 'MSFT', AMOUNT: 15 } },
  ];

  it('joins each order with the trades of the minute before it (dev/stream-joins-concepts.html, example 1)', () => {
    const { rows } = runApp(
      `${split}
       CREATE STREAM "DESTINATION_SQL_STREAM" (orderId INTEGER, ticker VARCHAR(4), orderAmount DOUBLE, tradeAmount DOUBLE);
       CREATE PUMP "JOINED" AS INSERT INTO "DESTINATION_SQL_STREAM"
         SELECT STREAM o.orderId, o.ticker, o.amount AS orderAmount, t.amount AS tradeAmount
         FROM "OrderStream" AS o JOIN "TradeStream" OVER t ON o.orderId = t.orderId
         WINDOW t AS (RANGE INTERVAL '1' MINUTE PRECEDING);`,
      events, { columns });
    expect(rows).toEqual([
      { ROWTIME: ts(30), ORDERID: 1, TICKER: 'AMZN', ORDERAMOUNT: 11, TRADEAMOUNT: 10 },
      { ROWTIME: ts(100), ORDERID: 2, TICKER: 'INTC', ORDERAMOUNT: 14, TRADEAMOUNT: 13 },
    ]);
  });

  it('emits unmatched rows of an outer side with NULLs when they leave their window', () => {
    const { rows } = runApp(
      `${split}
       CREATE STREAM "DESTINATION_SQL_STREAM" (orderId INTEGER, tradeId INTEGER);
       CREATE PUMP "JOINED" AS INSERT INTO "DESTINATION_SQL_STREAM"
         SELECT STREAM o.orderId, t.tradeId
         FROM "OrderStream" AS o FULL OUTER JOIN "TradeStream" OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS t ON o.orderId = t.orderId;`,
      events, { columns });
    expect(rows).toEqual([
      { ROWTIME: ts(30), ORDERID: 1, TRADEID: 100 },
      { ROWTIME: ts(40), ORDERID: 2, TRADEID: null },
      { ROWTIME: ts(100), ORDERID: 2, TRADEID: 200 },
      { ROWTIME: ts(200), ORDERID: 3, TRADEID: null },
    ]);
  });
});

describe('DISTINCT, views and UNION ALL', () => {
  it('SELECT STREAM DISTINCT emits each row once per value of its monotonic item', () => {
    const { rows } = runApp(
      `CREATE STREAM "DESTINATION_SQL_STREAM" (m TIMESTAMP, ticker VARCHAR(4));
       CREATE PUMP "P" AS INSERT INTO "DESTINATION_SQL_STREAM" SELECT STREAM DISTINCT FLOOR(ROWTIME TO MINUTE), ticker FROM "SOURCE_SQL_STREAM_001";`,
      [0, 10, 20, 70].map((s, k) => ({ at: s, data: { TICKER: k === 1 ? 'B' : 'A' } })),
      { columns },
    );
    expect(rows).toEqual([
      { ROWTIME: ts(0), M: ts(0), TICKER: 'A' },
      { ROWTIME: ts(10), M: ts(0), TICKER: 'B' },
      { ROWTIME: ts(70), M: ts(60), TICKER: 'A' },
    ]);
  });

  it('reads a view like a stream and merges UNION ALL inputs', () => {
    const { rows } = runApp(
      `CREATE VIEW big (t, a) AS SELECT STREAM ticker, amount FROM "SOURCE_SQL_STREAM_001" WHERE amount > 10;
       CREATE STREAM "DESTINATION_SQL_STREAM" (t VARCHAR(4), a DOUBLE);
       CREATE PUMP "P" AS INSERT INTO "DESTINATION_SQL_STREAM"
         SELECT STREAM t, a FROM big UNION ALL SELECT STREAM ticker, -amount FROM "SOURCE_SQL_STREAM_001" WHERE amount < 5;`,
      [
        { at: 1, data: { TICKER: 'A', AMOUNT: 20 } },
        { at: 2, data: { TICKER: 'B', AMOUNT: 1 } },
        { at: 3, data: { TICKER: 'C', AMOUNT: 7 } },
      ],
      { columns },
    );
    expect(rows).toEqual([
      { ROWTIME: ts(1), T: 'A', A: 20 },
      { ROWTIME: ts(2), T: 'B', A: -1 },
    ]);
  });
});
