/** Starts a real gateway on port 0 with a fresh data directory, and a stock AWS SDK client for it. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { gatewayDefaults, startGateway, type Gateway, type GatewayConfig } from '../../gateway/gateway.ts';
import { silentLogger } from '../../gateway/log.ts';

export function tempDir(prefix = 'trb-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export async function testGateway(overrides: Partial<GatewayConfig> = {}): Promise<Gateway & { dataDir: string }> {
  const dataDir = overrides.dataDir ?? tempDir('trb-gw-');
  const gw = await startGateway(
    { ...gatewayDefaults, dataDir, port: 0, createDelayMs: 50, updateDelayMs: 50, deleteDelayMs: 50, ...overrides },
    { log: silentLogger },
  );
  return Object.assign(gw, { dataDir });
}

export function kinesisClient(url: string): KinesisClient {
  return new KinesisClient({
    endpoint: url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
    maxAttempts: 1,
  });
}

export async function waitActive(client: KinesisClient, StreamName: string): Promise<void> {
  const { DescribeStreamSummaryCommand } = await import('@aws-sdk/client-kinesis');
  for (let i = 0; i < 200; i++) {
    const r = await client.send(new DescribeStreamSummaryCommand({ StreamName }));
    if (r.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') return;
    await new Promise((res) => setTimeout(res, 20));
  }
  throw new Error(`stream ${StreamName} never became ACTIVE`);
}
