// The published KDA SQL examples (test/fixtures/analytics/, shared with the
// offline runner's tests) run as live applications on a gateway: each
// fixture's records are put into a data stream at their documented arrival
// times (the gateway's clock is the test's), the application reads them with
// ROWTIME = the clock when it takes each record, as a running KDA application
// does, the clock then moves past the last window, and the output stream
// must hold the documented rows in order. The gateway's clock moves only once
// the application has taken the record put before, so ROWTIME equals each
// record's arrival time, as in the documented tables. ROWTIME itself is not
// in an output record (as on AWS); the offline-runner test checks it.
// Fixtures that take ROWTIME from the payload (--rowtime) have no live
// equivalent and are left to the runner.
import fs from 'node:fs';
import path from 'node:path';
import { AddApplicationReferenceDataSourceCommand, CreateApplicationCommand, StartApplicationCommand, UpdateApplicationCommand } from '@aws-sdk/client-kinesis-analytics';
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyticsClient, role, streamArn, waitStatus } from '../helpers/analytics.ts';
import { fixtureNames, loadFixture, type Fixture } from '../helpers/analytics-fixtures.ts';
import { readStream, waitFor } from '../helpers/agent-process.ts';
import { createActiveStream, kinesisClient, testGateway } from '../helpers/gateway.ts';

let clock = Date.parse('2018-01-01T00:00:00Z');
let gw: Awaited<ReturnType<typeof testGateway>>;

beforeAll(async () => {
  // No per-shard limits: their token buckets run on this clock, which stands still between records.
  gw = await testGateway({ enforceLimits: false }, { now: () => clock });
});
afterAll(() => gw?.close());

const arrivalOf = (record: string) => {
  const v = (JSON.parse(record) as { ApproximateArrivalTimestamp: string | number }).ApproximateArrivalTimestamp;
  return typeof v === 'number' ? Math.round(v * 1000) : Number.isFinite(Number(v)) ? Math.round(Number(v) * 1000) : Date.parse(v);
};

/** Records the application has read so far (its Records metric). */
const taken = (app: string) => [...gw.analytics.metrics.records.values].filter(([k]) => k.includes(`application="${app}"`)).reduce((s, [, v]) => s + v, 0);

async function runLive(f: Fixture, n: number): Promise<Array<Record<string, unknown>>> {
  const app = `example-${n}`;
  const [inStream, outStream] = [`${app}-in`, `${app}-out`];
  clock = arrivalOf(f.records[0]!) - 60_000;
  const k = kinesisClient(gw.url);
  const ka = analyticsClient(gw.url);
  await createActiveStream(k, inStream, 1);
  await createActiveStream(k, outStream, 1);
  const references = (f.meta.references ?? []).map((r, i) => {
    const doc = JSON.parse(fs.readFileSync(path.join(f.dir, r.ref), 'utf8')) as Record<string, unknown>;
    const ref = (doc.ReferenceDataSource ?? doc) as Record<string, unknown>;
    const key = `${app}/${i}-${path.basename(r.data)}`;
    const file = path.join(gw.dataDir, 'firehose-buckets', 'examples', key);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.copyFileSync(path.join(f.dir, r.data), file);
    return { ...ref, S3ReferenceDataSource: { BucketARN: 'arn:aws:s3:::examples', FileKey: key, ReferenceRoleARN: role } };
  });
  const input = JSON.parse(fs.readFileSync(path.join(f.dir, 'input.json'), 'utf8')) as Record<string, unknown>;
  await ka.send(new CreateApplicationCommand({
    ApplicationName: app,
    Inputs: [{ ...(input as object), NamePrefix: f.input.NamePrefix, KinesisStreamsInput: { ResourceARN: streamArn(inStream), RoleARN: role } } as never],
    Outputs: [{ Name: f.meta.output ?? 'DESTINATION_SQL_STREAM', KinesisStreamsOutput: { ResourceARN: streamArn(outStream), RoleARN: role }, DestinationSchema: { RecordFormatType: 'JSON' } }],
    // Code that joins a reference table compiles only once the table is there: as in dev/app-add-reference-data.html, it comes after the reference.
    ...(references.length === 0 ? { ApplicationCode: f.code } : {}),
  }));
  for (const [i, ref] of references.entries()) {
    await ka.send(new AddApplicationReferenceDataSourceCommand({ ApplicationName: app, CurrentApplicationVersionId: 1 + i, ReferenceDataSource: ref as never }));
  }
  if (references.length > 0) await ka.send(new UpdateApplicationCommand({ ApplicationName: app, CurrentApplicationVersionId: 1 + references.length, ApplicationUpdate: { ApplicationCodeUpdate: f.code } }));
  await ka.send(new StartApplicationCommand({ ApplicationName: app, InputConfigurations: [{ Id: '1.1', InputStartingPositionConfiguration: { InputStartingPosition: 'NOW' } }] }));
  await waitStatus(ka, app, 'RUNNING');
  for (const [i, line] of f.records.entries()) {
    const r = JSON.parse(line) as { Data: string; PartitionKey?: string };
    clock = Math.max(clock, arrivalOf(line));
    await k.send(new PutRecordsCommand({ StreamName: inStream, Records: [{ Data: Buffer.from(r.Data, 'base64'), PartitionKey: r.PartitionKey ?? 'pk' }] }));
    await waitFor(`${app} to take record ${i}`, () => taken(app) > i, 20_000);
  }
  // Past the last window, every window the records opened closes (well within the output stream's 24 h retention, on this clock).
  clock += 2 * 3600_000;
  let rows: Array<Record<string, unknown>> = [];
  await waitFor(`${app}'s ${f.expected.length} rows`, async () => {
    rows = (await readStream(k, outStream)).map((r) => JSON.parse(r.data) as Record<string, unknown>);
    return rows.length >= f.expected.length;
  }, 20_000).catch((err: Error) => {
    throw new Error(`${err.message}; got ${JSON.stringify(rows)}`);
  });
  await new Promise((r) => setTimeout(r, 300)); // a row too many would show now
  return (await readStream(k, outStream)).map((r) => JSON.parse(r.data) as Record<string, unknown>);
}

describe('published KDA examples on a live application', () => {
  const names = fixtureNames().filter((n) => !loadFixture(n).meta.rowtime);
  it('has fixtures to run', () => expect(names.length).toBeGreaterThan(0));
  names.forEach((name, n) => {
    it(name, async () => {
      const f = loadFixture(name);
      const rows = await runLive(f, n);
      const expected = f.expected.map(({ ROWTIME: _rowtime, ...rest }) => rest);
      expect(rows).toEqual(expected);
    });
  });
});
