/**
 * Proves the `tributary analytics run` command line itself (the contract's
 * flags): the real CLI process prints a documented example's rows as JSON
 * lines, takes ROWTIME from the payload with --rowtime, prints error_stream
 * with --output, joins --reference data, and exits 1 on a SQL error with
 * FILE:LINE:COLUMN and a caret.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fixturesDir, loadFixture } from '../helpers/analytics-fixtures.ts';
import { repoRoot } from '../helpers/spawn-gateway.ts';
import { tributaryBundle } from '../helpers/bundles.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'analytics-cli-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [tributaryBundle(), 'analytics', 'run', ...args], { cwd: repoRoot, maxBuffer: 1 << 24 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const jsonLines = (s: string) => s.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as unknown);

const record = (payload: unknown, at: string) => JSON.stringify({ Data: Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)).toString('base64'), PartitionKey: 'k', ApproximateArrivalTimestamp: at });

describe('tributary analytics run', () => {
  it('prints a documented example, takes event time with --rowtime, prints error_stream, joins --reference, and refuses bad SQL', async () => {
    const dir = path.join(fixturesDir, 'stagger-concepts-stagger');
    const example = run(['--code', path.join(dir, 'app.sql'), '--input', path.join(dir, 'input.json'), '--records', path.join(dir, 'records.jsonl')]);

    // Event time: the records arrive in one second, but their EVENT_TIME spans three minutes.
    const input = { NamePrefix: 'SOURCE_SQL_STREAM', InputSchema: { RecordFormat: { RecordFormatType: 'JSON', MappingParameters: { JSONMappingParameters: { RecordRowPath: '$' } } }, RecordColumns: [{ Name: 'T', SqlType: 'VARCHAR(8)', Mapping: '$.T' }, { Name: 'N', SqlType: 'INTEGER', Mapping: '$.N' }] } };
    fs.writeFileSync(path.join(tmp, 'input.json'), JSON.stringify(input));
    fs.writeFileSync(path.join(tmp, 'app.sql'), `CREATE STREAM "DESTINATION_SQL_STREAM" (t VARCHAR(8), name VARCHAR(16), total INTEGER);
CREATE PUMP "P" AS INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM s.T, r."NAME", SUM(s.N) FROM "SOURCE_SQL_STREAM_001" AS s LEFT JOIN "NAMES" AS r ON s.T = r."CODE"
  GROUP BY s.T, r."NAME", FLOOR(s.ROWTIME TO MINUTE);`);
    const at = '2024-03-01T10:00:00.500Z';
    fs.writeFileSync(path.join(tmp, 'records.jsonl'), [record({ T: 'a', N: 1, ts: '2024-03-01 09:00:10' }, at), record({ T: 'b', N: 2, ts: '2024-03-01 09:00:20' }, at), record({ T: 'a', N: 4, ts: '2024-03-01 09:02:05' }, at), record('not json', at), record({ T: 'a', N: 8, ts: '2024-03-01 09:02:30' }, at)].join('\n') + '\n');
    fs.writeFileSync(path.join(tmp, 'ref.json'), JSON.stringify({ TableName: 'NAMES', ReferenceSchema: { RecordFormat: { RecordFormatType: 'CSV', MappingParameters: { CSVMappingParameters: { RecordRowDelimiter: '\n', RecordColumnDelimiter: ',' } } }, RecordColumns: [{ Name: 'CODE', SqlType: 'VARCHAR(8)' }, { Name: 'NAME', SqlType: 'VARCHAR(16)' }] } }));
    fs.writeFileSync(path.join(tmp, 'names.csv'), 'a,Alpha\nc,Gamma\n');
    const common = ['--code', path.join(tmp, 'app.sql'), '--input', path.join(tmp, 'input.json'), '--records', path.join(tmp, 'records.jsonl'), '--reference', `${path.join(tmp, 'ref.json')}=${path.join(tmp, 'names.csv')}`];
    const eventTime = run([...common, '--rowtime', '$.ts']);
    const errors = run([...common, '--output', 'error_stream']);

    fs.writeFileSync(path.join(tmp, 'bad.sql'), 'CREATE STREAM "D" (a INTEGER);\nCREATE PUMP "P" AS INSERT INTO "D"\n  SELECT STREAM nosuch FROM "SOURCE_SQL_STREAM_001";\n');
    const bad = run(['--code', path.join(tmp, 'bad.sql'), '--input', path.join(tmp, 'input.json'), '--records', path.join(tmp, 'records.jsonl')]);

    const [e, t, er, b] = await Promise.all([example, eventTime, errors, bad]);
    expect(e.stderr).toBe('');
    expect(jsonLines(e.stdout)).toEqual(loadFixture('stagger-concepts-stagger').expected);

    expect(t.code, t.stderr).toBe(0);
    expect(jsonLines(t.stdout)).toEqual([
      { ROWTIME: '2024-03-01 09:01:00.000', T: 'a', NAME: 'Alpha', TOTAL: 1 },
      { ROWTIME: '2024-03-01 09:01:00.000', T: 'b', NAME: null, TOTAL: 2 },
      { ROWTIME: '2024-03-01 09:03:00.000', T: 'a', NAME: 'Alpha', TOTAL: 12 },
    ]);

    expect(er.code, er.stderr).toBe(0);
    expect(jsonLines(er.stdout)).toEqual([
      {
        ROWTIME: '2024-03-01 10:00:00.500',
        ERROR_TIME: '2024-03-01 10:00:00.500',
        ERROR_LEVEL: 'ERROR',
        ERROR_NAME: 'Parse_Error',
        MESSAGE: "record is not valid JSON: Unexpected token 'o', \"not json\" is not valid JSON",
        DATA_ROWTIME: '2024-03-01 10:00:00.500',
        DATA_ROW: Buffer.from('not json').toString('hex'),
        PUMP_NAME: null,
      },
    ]);

    expect(b.code).toBe(1);
    expect(b.stdout).toBe('');
    expect(b.stderr).toBe(`${path.join(tmp, 'bad.sql')}:3:17: column 'NOSUCH' not found\n  SELECT STREAM nosuch FROM "SOURCE_SQL_STREAM_001";\n                ^\n`);
  });
});
