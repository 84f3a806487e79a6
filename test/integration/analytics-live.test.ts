// A live application on the gateway, fed by the real agent: readings
// published to our own Mosquitto reach the agent's MQTT input, the agent
// ships them to a data stream, and an application reads that stream,
// alerts on hot readings to an MQTT topic (beyond AWS: a LambdaOutput mapped
// to a broker) and to a webhook speaking KDA's Lambda output contract (which
// refuses a record once, so the retry is seen), and writes per-device
// tumbling-window counts to another stream, closed by the rowtime timer
// without further input. The gateway is restarted in the middle: the
// application comes back RUNNING by itself and every alert arrives exactly
// once, every reading is counted exactly once.
import fs from 'node:fs';
import path from 'node:path';
import { CreateApplicationCommand, DescribeApplicationCommand, StartApplicationCommand } from '@aws-sdk/client-kinesis-analytics';
import mqtt from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startGateway } from '../../gateway/gateway.ts';
import { silentLogger } from '../../gateway/log.ts';
import { analyticsClient, functionArn, role, startMosquitto, startOutputWebhook, streamArn, waitStatus } from '../helpers/analytics.ts';
import { freePort, pairedState, readStream, startAgent, tlsClient, waitFor, type AgentProcess } from '../helpers/agent-process.ts';
import { createActiveStream, tempDir, testGateway, testOperator } from '../helpers/gateway.ts';

const device = 'pi-09';
const code = `
CREATE OR REPLACE STREAM "ALERTS" ("device" VARCHAR(16), "seq" INTEGER, "temperature" DOUBLE);
CREATE OR REPLACE PUMP "ALERT_PUMP" AS INSERT INTO "ALERTS"
  SELECT STREAM "device", "seq", "temperature" FROM "SOURCE_SQL_STREAM_001" WHERE "temperature" > 80;
CREATE OR REPLACE STREAM "COUNTS" ("device" VARCHAR(16), "readings" INTEGER);
CREATE OR REPLACE PUMP "COUNT_PUMP" AS INSERT INTO "COUNTS"
  SELECT STREAM "device", COUNT(*) FROM "SOURCE_SQL_STREAM_001"
  GROUP BY "device", STEP("SOURCE_SQL_STREAM_001".ROWTIME BY INTERVAL '1' SECOND);`;

let broker: Awaited<ReturnType<typeof startMosquitto>>;
let webhook: Awaited<ReturnType<typeof startOutputWebhook>>;
let gw: Awaited<ReturnType<typeof testGateway>>;
let agent: AgentProcess | undefined;
let alertsSeen: string[] = [];
let sub: mqtt.MqttClient;

beforeAll(async () => {
  broker = await startMosquitto(await freePort());
  let refusedOnce = false;
  webhook = await startOutputWebhook((_data, retryHint) => {
    if (refusedOnce || retryHint > 0) return false;
    refusedOnce = true; // the first record of all is refused once: it must come back with retryHint 1
    return true;
  });
  sub = await mqtt.connectAsync(broker.url);
  await sub.subscribeAsync('alerts/#', { qos: 1 });
  sub.on('message', (_t, payload) => alertsSeen.push(payload.toString()));
});

afterAll(async () => {
  agent?.proc.kill('SIGKILL');
  await agent?.exited;
  await gw?.close();
  await sub?.endAsync();
  await webhook?.close();
  await broker?.stop();
});

function gatewayConfig(dataDir: string, port: number) {
  return {
    dataDir, port, tlsEnabled: true,
    enforceLimits: false, // the test polls the counts stream faster than GetRecords' 5 calls per second
    analyticsLambdas: {
      [functionArn('mqtt-alerts')]: { mqtt: broker.url, topic: 'alerts/{application}' },
      [functionArn('webhook')]: { url: webhook.url },
    },
  };
}

it('alerts to MQTT and a webhook from agent data, counts in tumbling windows, and survives a gateway restart', async () => {
  const port = await freePort();
  const dataDir = tempDir('trb-kda-live-');
  gw = await testGateway(gatewayConfig(dataDir, port));
  const ca = fs.readFileSync(path.join(dataDir, 'tls', 'ca.crt'), 'utf8');
  const kinesis = tlsClient(gw);
  const ka = analyticsClient(gw.url, testOperator, ca);
  await createActiveStream(kinesis, `telemetry-${device}`, 2);
  await createActiveStream(kinesis, 'counts', 1);
  await ka.send(new CreateApplicationCommand({
    ApplicationName: 'heat',
    Inputs: [{
      NamePrefix: 'SOURCE_SQL_STREAM',
      KinesisStreamsInput: { ResourceARN: streamArn(`telemetry-${device}`), RoleARN: role },
      InputSchema: {
        RecordFormat: { RecordFormatType: 'JSON', MappingParameters: { JSONMappingParameters: { RecordRowPath: '$' } } },
        RecordColumns: [
          { Name: 'device', Mapping: '$.device', SqlType: 'VARCHAR(16)' },
          { Name: 'seq', Mapping: '$.seq', SqlType: 'INTEGER' },
          { Name: 'temperature', Mapping: '$.temperature', SqlType: 'DOUBLE' },
        ],
      },
    }],
    Outputs: [
      { Name: 'ALERTS', LambdaOutput: { ResourceARN: functionArn('mqtt-alerts'), RoleARN: role }, DestinationSchema: { RecordFormatType: 'JSON' } },
      { Name: 'ALERTS', LambdaOutput: { ResourceARN: functionArn('webhook'), RoleARN: role }, DestinationSchema: { RecordFormatType: 'JSON' } },
      { Name: 'COUNTS', KinesisStreamsOutput: { ResourceARN: streamArn('counts'), RoleARN: role }, DestinationSchema: { RecordFormatType: 'CSV' } },
    ],
    ApplicationCode: code,
  }));
  await ka.send(new StartApplicationCommand({ ApplicationName: 'heat', InputConfigurations: [{ Id: '1.1', InputStartingPositionConfiguration: { InputStartingPosition: 'NOW' } }] }));
  await waitStatus(ka, 'heat', 'RUNNING');

  const state = await pairedState(gw, device);
  const config = path.join(state, 'agent.yaml');
  fs.writeFileSync(config, [
    'gateway:', `  credentials: ${path.join(state, 'credentials.json')}`,
    'state:', `  dir: ${state}`,
    'destinations:', '  telemetry:', '    stream: telemetry-${device}',
    'inputs:', '  mqtt:', `    url: ${broker.url}`, '    rules:', '      - filter: sensors/+/reading', '        destination: telemetry', '        partitionKey: { topicLevel: 1 }',
    'metrics:', '  port: 0',
  ].join('\n') + '\n');
  agent = await startAgent(config);
  // Subscribed, not just running: a reading published before the subscription would be no one's.
  await waitFor('the agent to subscribe', () => agent!.log().includes('"kind":"subscribed"'), 30_000, agent.log);

  const pub = await mqtt.connectAsync(broker.url);
  const readings: Array<{ device: string; seq: number; temperature: number }> = [];
  const publish = async (from: number, to: number) => {
    for (let seq = from; seq < to; seq++) {
      const r = { device: `d-${seq % 3}`, seq, temperature: seq % 5 === 0 ? 90 + seq : 20 + (seq % 7) };
      readings.push(r);
      await pub.publishAsync(`sensors/${r.device}/reading`, JSON.stringify(r), { qos: 1 });
    }
  };
  const hot = () => readings.filter((r) => r.temperature > 80).map((r) => JSON.stringify(r));
  const counted = async () => (await readStream(kinesis, 'counts')).reduce((s, r) => s + Number(r.data.trim().split(',')[1]), 0);

  await publish(0, 30);
  await waitFor('the first alerts on MQTT and the webhook', () => alertsSeen.length >= hot().length && webhook.received.length >= hot().length, 30_000, agent.log);
  // Every window holding a first-phase reading closes with no further input (the rowtime bound moves on a timer).
  await waitFor('the first counts', async () => (await counted()) === 30, 15_000);

  // Restart the gateway (same data directory and port): the application resumes by itself.
  await gw.close();
  gw = await startGateway({ ...(await import('../../gateway/gateway.ts')).gatewayDefaults, ...gatewayConfig(dataDir, port), createDelayMs: 50, updateDelayMs: 50, deleteDelayMs: 50 }, { log: silentLogger }) as typeof gw;
  await waitStatus(ka, 'heat', 'RUNNING');
  await publish(30, 60);
  await waitFor('every alert', () => alertsSeen.length >= hot().length && webhook.received.length >= hot().length, 30_000, agent.log);
  await waitFor('every reading counted', async () => (await counted()) >= 60, 20_000);
  await pub.endAsync();

  const sorted = (xs: string[]) => [...xs].sort();
  expect(sorted(alertsSeen)).toEqual(sorted(hot()));
  expect(sorted(webhook.received.map((r) => r.data))).toEqual(sorted(hot()));
  expect(webhook.received.some((r) => r.retryHint === 1)).toBe(true);
  expect(await counted()).toBe(60);
  const d = (await ka.send(new DescribeApplicationCommand({ ApplicationName: 'heat' }))).ApplicationDetail!;
  expect(d.ApplicationStatus).toBe('RUNNING');
});
