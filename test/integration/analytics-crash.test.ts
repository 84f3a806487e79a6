// A running application survives kill -9 of the gateway: after the restart
// it comes back RUNNING from its checkpointed input positions, every record
// acknowledged by PutRecords reaches the output stream, and the only records
// whose rows arrive twice are ones acknowledged in the last two seconds
// before the kill (the checkpoint interval, 1 s, plus delivery): the
// duplicate bound docs/analytics.md states.
import fs from 'node:fs';
import path from 'node:path';
import { CreateApplicationCommand, StartApplicationCommand } from '@aws-sdk/client-kinesis-analytics';
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { afterAll, expect, it } from 'vitest';
import { analyticsClient, role, streamArn, waitStatus } from '../helpers/analytics.ts';
import { readStream, waitFor } from '../helpers/agent-process.ts';
import { createActiveStream, kinesisClient, tempDir } from '../helpers/gateway.ts';
import { spawnGateway, type SpawnedGateway } from '../helpers/spawn-gateway.ts';

const children: SpawnedGateway[] = [];
afterAll(() => {
  for (const c of children) c.child.kill('SIGKILL');
});

const code = `CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" ("id" INTEGER, "writer" INTEGER);
CREATE OR REPLACE PUMP "P" AS INSERT INTO "DESTINATION_SQL_STREAM" SELECT STREAM "id", "writer" FROM "SOURCE_SQL_STREAM_001";`;

it('resumes after kill -9 with every acknowledged record delivered and duplicates only from the last checkpoint interval', async () => {
  const dataDir = tempDir('trb-kda-crash-');
  const args = ['--data', dataDir, '--no-limits', '--insecure-http', '--log-level', 'info'];
  let gw = await spawnGateway(args);
  children.push(gw);
  const operator = JSON.parse(fs.readFileSync(path.join(dataDir, 'operator.json'), 'utf8')) as { accessKeyId: string; secretAccessKey: string };
  let k = kinesisClient(gw.url, operator);
  let ka = analyticsClient(gw.url, operator);
  await createActiveStream(k, 'in', 2);
  await createActiveStream(k, 'out', 1);
  await ka.send(new CreateApplicationCommand({
    ApplicationName: 'copy',
    Inputs: [{
      NamePrefix: 'SOURCE_SQL_STREAM',
      KinesisStreamsInput: { ResourceARN: streamArn('in'), RoleARN: role },
      InputSchema: {
        RecordFormat: { RecordFormatType: 'JSON', MappingParameters: { JSONMappingParameters: { RecordRowPath: '$' } } },
        RecordColumns: [{ Name: 'id', Mapping: '$.id', SqlType: 'INTEGER' }, { Name: 'writer', Mapping: '$.writer', SqlType: 'INTEGER' }],
      },
    }],
    Outputs: [{ Name: 'DESTINATION_SQL_STREAM', KinesisStreamsOutput: { ResourceARN: streamArn('out'), RoleARN: role }, DestinationSchema: { RecordFormatType: 'JSON' } }],
    ApplicationCode: code,
  }));
  await ka.send(new StartApplicationCommand({ ApplicationName: 'copy', InputConfigurations: [{ Id: '1.1', InputStartingPositionConfiguration: { InputStartingPosition: 'TRIM_HORIZON' } }] }));
  await waitStatus(ka, 'copy', 'RUNNING');

  // Four writers send batches until the kill; an id counts once PutRecords acknowledged it.
  const acked = new Map<number, number>(); // id -> time acknowledged
  let nextId = 0;
  let stop = false;
  const writer = async (w: number) => {
    while (!stop) {
      const ids = Array.from({ length: 25 }, () => nextId++);
      try {
        const r = await k.send(new PutRecordsCommand({ StreamName: 'in', Records: ids.map((id) => ({ PartitionKey: `k${id % 16}`, Data: Buffer.from(JSON.stringify({ id, writer: w })) })) }));
        const now = Date.now();
        r.Records!.forEach((res, i) => res.SequenceNumber && acked.set(ids[i]!, now));
      } catch {
        return; // in flight at the kill: not acknowledged
      }
      await new Promise((res) => setTimeout(res, 20));
    }
  };
  const writers = [0, 1, 2, 3].map(writer);
  // The writers run a while (the application reads and checkpoints meanwhile), and past 500 acknowledged records
  // however slow the machine.
  await new Promise((r) => setTimeout(r, 2500));
  await waitFor('500 acknowledged records', () => acked.size > 500, 60_000);
  const killedAt = Date.now();
  gw.child.kill('SIGKILL');
  stop = true;
  await Promise.all(writers);
  expect(await gw.exited).toBe('SIGKILL');

  gw = await spawnGateway(args);
  children.push(gw);
  k = kinesisClient(gw.url, operator);
  ka = analyticsClient(gw.url, operator);
  await waitStatus(ka, 'copy', 'RUNNING');
  // Records written after the restart flow too.
  const after = Array.from({ length: 20 }, () => nextId++);
  await k.send(new PutRecordsCommand({ StreamName: 'in', Records: after.map((id) => ({ PartitionKey: 'after', Data: Buffer.from(JSON.stringify({ id, writer: 9 })) })) }));
  for (const id of after) acked.set(id, Date.now());

  let out: number[] = [];
  await waitFor('every acknowledged record in the output', async () => {
    out = (await readStream(k, 'out')).map((r) => (JSON.parse(r.data) as { id: number }).id);
    const seen = new Set(out);
    return [...acked.keys()].every((id) => seen.has(id));
  }, 30_000, () => gw.logs.slice(-20).join('\n'));

  const counts = new Map<number, number>();
  for (const id of out) counts.set(id, (counts.get(id) ?? 0) + 1);
  const twice = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
  for (const id of twice) {
    const at = acked.get(id);
    // Not acknowledged (in flight at the kill) or acknowledged within the bound before it.
    if (at !== undefined) expect(killedAt - at, `record ${id} duplicated though acknowledged ${killedAt - at} ms before the kill`).toBeLessThanOrEqual(2000);
  }
  expect(gw.logs.some((l) => l.includes('analytics application running') && l.includes('copy'))).toBe(true);
});
