/**
 * The CLI side of offline replay: `tributary streams export` and
 * `tributary replay`, registered on bin/tributary.ts's program from here so
 * that the shared CLI file only calls `registerReplayCommands`. The replay
 * machinery is imported when a replay runs, not when the gateway starts.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { JsonRpcClient } from '../sdk/http/json-rpc-client.ts';
import { TributaryError } from '../sdk/protocol/errors.ts';
import { exportStream } from './export.ts';
import { parseBound } from './stream-history.ts';

export interface ClientFlags {
  profile?: string;
  endpoint?: string;
}

export interface Profile {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  caCertificate?: string;
  clientCertificate?: string;
  clientKey?: string;
}

export interface CliHelpers {
  /** Adds a subcommand with the operator-profile flags (-p, -e). */
  clientCommand(parent: Command, spec: string, description: string): Command;
  loadProfile(o: ClientFlags): Profile;
}

const prefixes = { kinesis: 'Kinesis_20131202', firehose: 'Firehose_20150804', kinesisanalytics: 'KinesisAnalytics_20150814' } as const;

/** The profile's CA, and its client certificate for gateways that require mutual TLS. */
function tlsOf(p: Profile): { ca?: string; cert?: string; key?: string } {
  return { ...(p.caCertificate ? { ca: p.caCertificate } : {}), ...(p.clientCertificate && p.clientKey ? { cert: p.clientCertificate, key: p.clientKey } : {}) };
}

function client(p: Profile, service: keyof typeof prefixes): JsonRpcClient {
  return new JsonRpcClient({
    endpoint: p.endpoint, region: p.region, service, targetPrefix: prefixes[service],
    credentials: { accessKeyId: p.accessKeyId, secretAccessKey: p.secretAccessKey }, ...tlsOf(p),
  });
}

interface ReplayFlags extends ClientFlags {
  into: string;
  from?: string;
  to?: string;
  shard?: string;
  speed: string;
  partitionKey?: string;
  lanes: number;
  checkpoint?: string;
  rejects?: string;
  restart?: boolean;
  format: 'capture' | 'agent';
  keyFile?: string;
  data?: string;
  bufferKey?: string;
  destination?: string;
  split: 'auto' | 'lines' | 'kpl' | 'none';
  s3Endpoint?: string;
  s3Region: string;
  sync?: boolean;
  progress: 'auto' | 'bar' | 'json' | 'none';
  progressInterval: number;
}

const positiveInt = (max: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new InvalidArgumentError(`must be an integer 1..${max}`);
  return n;
};

export function parseSpeed(text: string): { kind: 'max' } | { kind: 'scaled'; factor: number } {
  if (text === 'max') return { kind: 'max' };
  const m = /^(\d+(?:\.\d+)?)x$/.exec(text);
  const factor = m ? Number(m[1]) : NaN;
  if (!(factor > 0)) throw new TributaryError('REPLAY_OPTION_INVALID', `--speed must be max or a factor such as 1x, 10x or 0.5x (got "${text}")`);
  return { kind: 'scaled', factor };
}

function readKey(file: string, what: string, bytes: number): Buffer {
  let key: Buffer;
  try {
    key = fs.readFileSync(file);
  } catch (err) {
    throw new TributaryError('REPLAY_KEY_MISSING', `cannot read ${what} ${file}: ${(err as Error).message}`);
  }
  if (key.length !== bytes) throw new TributaryError('REPLAY_KEY_INVALID', `${file} holds ${key.length} bytes; ${what} is ${bytes}`);
  return key;
}

export function registerReplayCommands(program: Command, streams: Command, h: CliHelpers): void {
  h.clientCommand(streams, 'export <stream>', 'Write a stream\'s records as capture lines (the GetRecords shape: Data base64, PartitionKey, SequenceNumber, ApproximateArrivalTimestamp in epoch seconds), shard by shard, parents before children. See docs/replay.md.')
    .option('--from <time|seq>', 'first record: a time (ISO-8601 or epoch seconds) or a sequence number (with --shard); default the oldest retained')
    .option('--to <time|seq>', 'last record: a time or a sequence number (with --shard); default the stream\'s tip when the export starts')
    .option('--shard <id>', 'only this shard')
    .option('-o, --out <file>', 'output file (.gz: gzip); default standard output', '-')
    .action(async (stream: string, o: ClientFlags & { from?: string; to?: string; shard?: string; out: string }) => {
      const c = client(h.loadProfile(o), 'kinesis');
      try {
        const summary = await exportStream(c, stream, o.out, {
          ...(o.from ? { from: parseBound(o.from, '--from') } : {}),
          ...(o.to ? { to: parseBound(o.to, '--to') } : {}),
          ...(o.shard ? { shard: o.shard } : {}),
        });
        process.stderr.write(JSON.stringify({ exported: summary }) + '\n');
      } finally {
        c.close();
      }
    });

  h.clientCommand(program, 'replay <source>', 'Replay recorded history into a stream, a delivery stream, an analytics application or a file: resumable (run the same command again after Ctrl-C or a crash), exactly once into streams and files. Sources: a capture or agent export file (plain or gzip), stream:<name>, firehose:<dir> or s3://bucket/prefix (delivered objects), agent-buffer:<dir>. See docs/replay.md.')
    .requiredOption('--into <target>', 'stream:<name> | delivery-stream:<name> | analytics:<application> | file:<path>')
    .option('--from <time|seq>', 'stream:<name> source: first record (time or, with --shard, sequence number)')
    .option('--to <time|seq>', 'stream:<name> source: last record; default the time of the first run')
    .option('--shard <id>', 'stream:<name> source: only this shard')
    .option('--speed <speed>', 'max (as fast as the target allows), or the original spacing sped up: 1x, 10x, 0.5x', 'max')
    .option('--partition-key <rule>', "keep the records' keys (default), take them from the data ($.deviceId), or one fixed key")
    .option('--lanes <n>', 'requests in flight (one per lane; a key always uses the same lane)', positiveInt(64), 16)
    .option('--checkpoint <file>', 'checkpoint file (default ./replay-<hash of source and target>.checkpoint.json)')
    .option('--rejects <file>', 'where records that cannot be sent go (default beside the checkpoint, .rejects.jsonl)')
    .option('--restart', 'ignore an existing checkpoint and start from the beginning')
    .addOption(new Option('--format <format>', 'file target: capture lines, or agent export lines (keep the capture time)').choices(['capture', 'agent']).default('capture'))
    .option('--key-file <file>', "Firehose objects: the gateway's keys/master.key, for encrypted objects")
    .option('--data <dir>', "Firehose objects: the gateway's data directory (its keys/master.key)")
    .option('--buffer-key <file>', "agent buffer: the device's keys/buffer.key (found beside the buffer when the agent's state directory is given)")
    .option('--destination <name>', 'agent buffer: the destination to read (default: the only one)')
    .addOption(new Option('--split <mode>', 'Firehose objects: how an object splits into records').choices(['auto', 'lines', 'kpl', 'none']).default('auto'))
    .option('--s3-endpoint <url>', 's3:// sources: the S3-compatible endpoint (credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)')
    .option('--s3-region <region>', 's3:// sources: region', 'us-east-1')
    .option('--sync', 'fsync the checkpoint before each request (survives power loss, not only crashes)')
    .addOption(new Option('--progress <mode>', 'progress display: a bar on a terminal, JSON lines otherwise').choices(['auto', 'bar', 'json', 'none']).default('auto'))
    .option('--progress-interval <seconds>', 'seconds between JSON progress lines', positiveInt(3600), 5)
    .action(async (sourceText: string, o: ReplayFlags) => runReplayCommand(sourceText, o, h));
}

async function runReplayCommand(sourceText: string, o: ReplayFlags, h: CliHelpers): Promise<void> {
  const { ReplayEngine } = await import('./engine.ts');
  const { openSource, openTarget, parseSourceSpec, parseTargetSpec } = await import('./open.ts');
  const { parseKeyRule } = await import('./partition-key.ts');
  const source = parseSourceSpec(sourceText);
  const target = parseTargetSpec(o.into);
  const speed = parseSpeed(o.speed);
  const keyRule = parseKeyRule(o.partitionKey);
  const lanes = target.kind === 'file' ? 1 : o.lanes;
  const from = o.from ? parseBound(o.from, '--from') : undefined;
  const to = o.to ? parseBound(o.to, '--to') : undefined;
  const fingerprint = createHash('sha256').update(JSON.stringify({ source, target, keyRule: o.partitionKey ?? null, lanes, format: o.format, split: o.split, from: o.from ?? null, to: o.to ?? null, shard: o.shard ?? null, destination: o.destination ?? null })).digest('hex');
  const checkpointFile = o.checkpoint ?? path.resolve(`replay-${fingerprint.slice(0, 12)}.checkpoint.json`);
  const rejectsFile = o.rejects ?? checkpointFile.replace(/(\.checkpoint)?\.json$/, '') + '.rejects.jsonl';
  if (o.restart) fs.rmSync(checkpointFile, { force: true });
  const progress = o.progress === 'auto' ? (process.stdout.isTTY ? 'bar' : 'json') : o.progress;
  const engine = new ReplayEngine({ checkpointFile, rejectsFile, fingerprint, speed, keyRule, lanes, progress, progressIntervalMs: o.progressInterval * 1000, sync: o.sync === true });
  const keyFile = o.keyFile ?? (o.data ? path.join(o.data, 'keys', 'master.key') : undefined);
  const open = {
    ...(from ? { from } : {}), ...(to ? { to } : {}), ...(o.shard ? { shard: o.shard } : {}), lanes, format: o.format, runId: engine.runId, split: o.split,
    ...(keyFile ? { masterKey: readKey(keyFile, "the gateway's master key", 32) } : {}),
    ...(o.bufferKey ? { bufferKey: readKey(o.bufferKey, 'a buffer key', 32) } : {}),
    ...(o.destination ? { destination: o.destination } : {}),
    ...(o.s3Endpoint || source.kind === 'firehose' && source.location.startsWith('s3://') ? { s3: s3Access(o) } : {}),
  };
  let profile: Profile | undefined;
  const prof = () => (profile ??= h.loadProfile(o));
  const src = await openSource(source, open, engine.savedSourceState, () => client(prof(), 'kinesis'));
  const access = () => {
    const p = prof();
    return { endpoint: p.endpoint, region: p.region, credentials: { accessKeyId: p.accessKeyId, secretAccessKey: p.secretAccessKey }, ...tlsOf(p) };
  };
  const tgt = await openTarget(target, open, engine.savedTargetState, access, (service) => client(prof(), service));
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (++interrupts > 1) process.exit(130); // The checkpoint on disk is consistent at any moment.
    process.stderr.write(`\n${signal}: finishing the requests in flight and saving the checkpoint (again to quit at once)\n`);
    engine.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const summary = await engine.run(src, tgt);
  process.stdout.write(JSON.stringify({ replay: summary }) + '\n');
  if (!summary.finished) {
    process.stderr.write('interrupted: run the same command again to resume\n');
    process.exitCode = 130;
  }
}

function s3Access(o: ReplayFlags): NonNullable<Parameters<typeof import('./open.ts').openSource>[1]['s3']> {
  const accessKeyId = process.env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = process.env.AWS_SECRET_ACCESS_KEY;
  if (!o.s3Endpoint) throw new TributaryError('REPLAY_OPTION_INVALID', 's3:// sources need --s3-endpoint (the S3-compatible store\'s URL)');
  if (!accessKeyId || !secretAccessKey) throw new TributaryError('REPLAY_OPTION_INVALID', 's3:// sources read credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY');
  return { endpoint: o.s3Endpoint, region: o.s3Region, accessKeyId, secretAccessKey };
}
