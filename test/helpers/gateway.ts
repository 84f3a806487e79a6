/** Starts a real gateway on port 0 with a fresh data directory, and a stock AWS SDK client for it. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { gatewayDefaults, startGateway, type Gateway, type GatewayConfig } from '../../gateway/gateway.ts';
import { silentLogger } from '../../gateway/log.ts';
import { waitFor } from './wait.ts';

export function tempDir(prefix = 'trb-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** The operator key every test gateway is provisioned with (installed through the same path as any imported key). */
export const testOperator = Object.freeze({ accessKeyId: 'AKIDEXAMPLE0TEST', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' });

/**
 * A gateway for tests: plain HTTP unless `tlsEnabled` is given (TLS has its
 * own tests), SigV4 always on, short status delays.
 */
export async function testGateway(overrides: Partial<GatewayConfig> = {}, options: { now?: () => number } = {}): Promise<Gateway & { dataDir: string }> {
  const dataDir = overrides.dataDir ?? tempDir('trb-gw-');
  const gw = await startGateway(
    { ...gatewayDefaults, dataDir, port: 0, tlsEnabled: false, createDelayMs: 50, updateDelayMs: 50, deleteDelayMs: 50, ...overrides },
    { log: silentLogger, operator: testOperator, ...options },
  );
  return Object.assign(gw, { dataDir });
}

/** GET /metrics as a scraper with the gateway's metrics token does (issue #11: the page needs it). */
export async function metricsText(gw: { url: string; metricsToken: string | undefined }): Promise<string> {
  const res = await fetch(`${gw.url}/metrics`, { headers: gw.metricsToken ? { authorization: `Bearer ${gw.metricsToken}` } : {} });
  if (res.status !== 200) throw new Error(`GET /metrics: HTTP ${res.status}`);
  return res.text();
}

export function kinesisClient(url: string, credentials: { accessKeyId: string; secretAccessKey: string } = testOperator): KinesisClient {
  return new KinesisClient({
    endpoint: url,
    region: 'us-east-1',
    // A copy: the SDK annotates the object it is given.
    credentials: { ...credentials },
    maxAttempts: 1,
  });
}

/** Creates a stream and waits until it is ACTIVE. */
export async function createActiveStream(client: KinesisClient, StreamName: string, ShardCount: number): Promise<void> {
  const { CreateStreamCommand } = await import('@aws-sdk/client-kinesis');
  await client.send(new CreateStreamCommand({ StreamName, ShardCount }));
  await waitActive(client, StreamName);
}

export async function waitActive(client: KinesisClient, StreamName: string): Promise<void> {
  const { DescribeStreamSummaryCommand } = await import('@aws-sdk/client-kinesis');
  await waitFor(`stream ${StreamName} ACTIVE`, async () =>
    (await client.send(new DescribeStreamSummaryCommand({ StreamName }))).StreamDescriptionSummary?.StreamStatus === 'ACTIVE', { timeoutMs: 30_000 });
}
