/**
 * The camera tests' shared setup: a TLS gateway with Kinesis Video streams,
 * a paired device whose agent (the shipped bundle) records cameras with real
 * ffmpeg, and the stock archived-media client to list what arrived.
 */
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { CreateStreamCommand, KinesisVideoClient } from '@aws-sdk/client-kinesis-video';
import { KinesisVideoArchivedMediaClient, ListFragmentsCommand, type Fragment } from '@aws-sdk/client-kinesis-video-archived-media';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { Gateway } from '../../gateway/gateway.ts';
import { pairDevice } from '../../sdk/devices/pairing.ts';
import { testOperator } from './gateway.ts';

export function videoClients(gw: Gateway & { dataDir: string }): { kv: KinesisVideoClient; am: KinesisVideoArchivedMediaClient; close(): void } {
  const ca = fs.readFileSync(path.join(gw.dataDir, 'tls', 'ca.crt'), 'utf8');
  const common = { endpoint: gw.url, region: 'us-east-1', credentials: { ...testOperator }, maxAttempts: 1, requestHandler: new NodeHttpHandler({ httpsAgent: new https.Agent({ ca }) }) };
  const kv = new KinesisVideoClient(common);
  const am = new KinesisVideoArchivedMediaClient({ ...common, requestHandler: new NodeHttpHandler({ httpsAgent: new https.Agent({ ca }) }) });
  return { kv, am, close: () => (kv.destroy(), am.destroy()) };
}

/** A state directory (under /var/tmp, or `dir`) with `device` paired to `gw`, and its video streams created. */
export async function cameraDevice(gw: Gateway, kv: KinesisVideoClient, device: string, streams: string[], dir?: string): Promise<string> {
  const state = dir ?? fs.mkdtempSync('/var/tmp/trb-camera-');
  const { code } = await gw.principals.createPairingCode(device, 'device', 60_000);
  await pairDevice({ endpoint: gw.url, code, caFingerprint: gw.caFingerprint!, directory: state });
  for (const s of streams) await kv.send(new CreateStreamCommand({ StreamName: s, DataRetentionInHours: 24 }));
  return state;
}

/** agent.yaml for `state` with the given `inputs.camera` entries (YAML lines, indented as list items), talking to `endpoint`. */
export function cameraConfig(state: string, o: { cameras: string[]; endpoint?: string; extra?: string[]; configDir?: string }): string {
  const file = path.join(o.configDir ?? state, 'agent.yaml');
  fs.writeFileSync(file, [
    'gateway:', `  credentials: ${path.join(state, 'credentials.json')}`, ...(o.endpoint ? [`  endpoint: ${o.endpoint}`] : []),
    'state:', `  dir: ${state}`,
    'destinations:', '  telemetry:', '    stream: telemetry-${device}',
    'inputs:', '  camera:', ...o.cameras,
    'uplink:', '  retryMaxMs: 1000',
    'metrics:', '  port: 0',
    ...(o.extra ?? []),
  ].join('\n') + '\n');
  return file;
}

/** A synthetic camera entry: testsrc, small and cheap (the tests assert behaviour, not picture quality). */
export function syntheticCamera(name: string, stream: string, o: { width?: number; height?: number; fps?: number; fragmentSeconds?: number; realtime?: boolean; more?: string[] } = {}): string[] {
  return [
    `    - name: ${name}`, `      stream: ${stream}`,
    `      source: { synthetic: { width: ${o.width ?? 160}, height: ${o.height ?? 120}, fps: ${o.fps ?? 10}, realtime: ${o.realtime ?? true} } }`,
    '      encode: { codec: libx264, preset: ultrafast, bitrate: 200000 }',
    `      fragmentSeconds: ${o.fragmentSeconds ?? 1}`,
    '      restartMinMs: 200', '      restartMaxMs: 1000',
    ...(o.more ?? []),
  ];
}

/** Every fragment of a stream (ListFragments, all pages), in producer timestamp order. */
export async function listAllFragments(am: KinesisVideoArchivedMediaClient, stream: string): Promise<Fragment[]> {
  const out: Fragment[] = [];
  let NextToken: string | undefined;
  do {
    const r = await am.send(new ListFragmentsCommand({ StreamName: stream, MaxResults: 1000, ...(NextToken ? { NextToken } : {}) }));
    out.push(...(r.Fragments ?? []));
    NextToken = r.NextToken;
  } while (NextToken);
  return out.sort((a, b) => a.ProducerTimestamp!.getTime() - b.ProducerTimestamp!.getTime());
}

/** The agent's status.json cameras section. */
export function cameraStatus(state: string): Record<string, Record<string, unknown>> | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(state, 'status.json'), 'utf8')).cameras;
  } catch {
    return undefined;
  }
}
