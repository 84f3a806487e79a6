/**
 * Turns `tributary replay <source> --into <target>` arguments into a source
 * and a target. Sources: a JSON-lines file (capture or agent export, plain
 * or gzip), `stream:<name>`, `firehose:<dir>` / `s3://bucket/prefix`
 * (delivered objects), `agent-buffer:<dir>` (a device's buffer). A bare
 * directory is an agent buffer when it holds buffer segments, else Firehose
 * objects. Targets: `stream:<name>`, `delivery-stream:<name>`, `file:<path>`.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { JsonRpcClient } from '../sdk/http/json-rpc-client.ts';
import { TributaryError } from '../sdk/protocol/errors.ts';
import type { Bound } from './stream-history.ts';
import { LinesSource } from './sources/lines.ts';
import { StreamSource } from './sources/stream.ts';
import { DeliveryStreamTarget } from './targets/delivery-stream.ts';
import { FileTarget, type FileFormat } from './targets/file.ts';
import { StreamTarget, type GatewayAccess } from './targets/stream.ts';
import type { ReplaySource, ReplayTarget } from './types.ts';

export type SourceSpec =
  | { kind: 'lines'; file: string }
  | { kind: 'stream'; name: string }
  | { kind: 'firehose'; location: string }
  | { kind: 'agent-buffer'; dir: string };

export type TargetSpec = { kind: 'stream' | 'delivery-stream' | 'analytics'; name: string } | { kind: 'file'; file: string };

export function parseSourceSpec(text: string): SourceSpec {
  const m = /^([a-z0-9-]+):(.*)$/.exec(text);
  if (m && m[1] === 'stream') return { kind: 'stream', name: m[2]! };
  if (m && m[1] === 'firehose') return { kind: 'firehose', location: m[2]! };
  if (m && m[1] === 'agent-buffer') return { kind: 'agent-buffer', dir: m[2]! };
  if (m && m[1] === 'file') return { kind: 'lines', file: m[2]! };
  if (m && m[1] === 's3') return { kind: 'firehose', location: text };
  let st: fs.Stats;
  try {
    st = fs.statSync(text);
  } catch {
    throw new TributaryError('REPLAY_SOURCE_MISSING', `source ${text} does not exist (a file, a directory, stream:<name>, firehose:<dir>, agent-buffer:<dir> or s3://bucket/prefix)`);
  }
  if (st.isFile()) return { kind: 'lines', file: text };
  return looksLikeAgentBuffer(text) ? { kind: 'agent-buffer', dir: text } : { kind: 'firehose', location: text };
}

/** A buffer root, a destination directory, or an agent state directory (with buffer/). */
export function looksLikeAgentBuffer(dir: string): boolean {
  const hasSegments = (d: string) => {
    try {
      return fs.readdirSync(d).some((n) => n.endsWith('.seg'));
    } catch {
      return false;
    }
  };
  if (hasSegments(dir)) return true;
  const sub = (d: string) => fs.readdirSync(d, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => path.join(d, e.name));
  return sub(dir).some(hasSegments) || (fs.existsSync(path.join(dir, 'buffer')) && sub(path.join(dir, 'buffer')).some(hasSegments));
}

export function parseTargetSpec(text: string): TargetSpec {
  const m = /^([a-z-]+):(.+)$/.exec(text);
  const kind = m?.[1] === 'firehose' ? 'delivery-stream' : m?.[1];
  if (kind === 'stream' || kind === 'delivery-stream' || kind === 'analytics') return { kind, name: m![2]! };
  if (kind === 'file') return { kind: 'file', file: m![2]! };
  throw new TributaryError('REPLAY_OPTION_INVALID', `--into must be stream:<name>, delivery-stream:<name>, analytics:<application> or file:<path> (got "${text}")`);
}

export interface OpenOptions {
  from?: Bound;
  to?: Bound;
  shard?: string;
  lanes: number;
  format: FileFormat;
  runId: string;
  /** For Firehose objects: the gateway's master key; for agent buffers: the buffer key. */
  masterKey?: Buffer;
  bufferKey?: Buffer;
  destination?: string;
  split: 'auto' | 'lines' | 'kpl' | 'none';
  s3?: { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string };
}

export async function openSource(spec: SourceSpec, o: OpenOptions, saved: unknown, client: () => JsonRpcClient): Promise<ReplaySource> {
  switch (spec.kind) {
    case 'lines':
      return new LinesSource(spec.file);
    case 'stream':
      return new StreamSource(client(), spec.name, o, saved);
    case 'firehose': {
      const { FirehoseSource } = await import('./sources/firehose.ts');
      return FirehoseSource.open(spec.location, o, saved);
    }
    case 'agent-buffer': {
      const { AgentBufferSource } = await import('./sources/agent-buffer.ts');
      return new AgentBufferSource(spec.dir, o);
    }
  }
}

export async function openTarget(spec: TargetSpec, o: OpenOptions, saved: unknown, access: () => GatewayAccess, admin: (service: 'kinesisanalytics') => JsonRpcClient): Promise<ReplayTarget> {
  switch (spec.kind) {
    case 'stream':
      return new StreamTarget(spec.name, access(), o.lanes, `replay.${o.runId}`);
    case 'delivery-stream':
      return new DeliveryStreamTarget(spec.name, access(), o.lanes);
    case 'file':
      return new FileTarget(spec.file, o.format, saved);
    case 'analytics': {
      const { analyticsInput } = await import('./targets/analytics.ts');
      const input = await analyticsInput(admin('kinesisanalytics'), spec.name);
      return input.kind === 'stream' ? new StreamTarget(input.name, access(), o.lanes, `replay.${o.runId}`) : new DeliveryStreamTarget(input.name, access(), o.lanes);
    }
  }
}
