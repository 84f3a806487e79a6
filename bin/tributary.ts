#!/usr/bin/env node
/**
 * The `tributary` command: run and initialise the gateway, check its
 * configuration, pair devices, manage credentials and policies, and
 * administer streams from a shell.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError, loadGatewayConfigFile } from '../gateway/config.ts';
import { PrincipalStore, type SecurityDoc } from '../gateway/devices/principals.ts';
import { ensureTls, gatewayDefaults, operatorProfileName, startGateway, type GatewayConfig, type OperatorProfile } from '../gateway/gateway.ts';
import { provisionOperatorProfile } from '../gateway/devices/operator-profile.ts';
import { loadOrCreateMetricsToken, metricsTokenFileName } from '../gateway/http/metrics-route.ts';
import { createLogger } from '../gateway/log.ts';
import { JsonFileStore, loadOrCreateSecret } from '../gateway/storage/local/metadata-store.ts';
import { parseFsyncPolicy } from '../gateway/storage/types.ts';
import { RecordCipher } from '../gateway/streams/encryption.ts';
import { loadTlsMaterial } from '../gateway/tls/context.ts';
import { pairDevice } from '../sdk/devices/pairing.ts';
import { JsonRpcClient } from '../sdk/http/json-rpc-client.ts';
import { AwsError, TributaryError } from '../sdk/protocol/errors.ts';
import { decryptObject } from '../gateway/firehose/object-encryption.ts';
import { registerVideoIngestCommands } from './video-ingest-commands.ts';
import { registerVideoPlaybackCommands } from './video-playback-commands.ts';
import { registerReplayCommands } from '../replay/commands.ts';
import { registerAnalyticsCommands } from './analytics-commands.ts';
import { addAnalyticsRunCommand, analyticsCommandGroup } from '../gateway/analytics/run-command.ts';
import { tailLines, type TailRecord } from './tail-format.ts';

const program = new Command('tributary')
  .description('Self-hosted, Kinesis-compatible data pipeline for fleets of edge devices.')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)');

const print = (v: unknown): void => void process.stdout.write(JSON.stringify(v, null, 2) + '\n');
const port = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be a port number 0..65535');
  return n;
};
const collect = (v: string, prev: string[]) => [...prev, v];
const duration = (v: string) => {
  const m = /^(\d+)(s|m|h|d)?$/.exec(v);
  if (!m) throw new InvalidArgumentError('must be a duration such as 90s, 10m, 2h or 1d');
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[(m[2] ?? 's') as 's']!;
};

// ---------------------------------------------------------------- gateway

const gateway = program.command('gateway').description('Run, initialise and configure the gateway server.');

interface ServerFlags { config?: string; data?: string; host?: string; port?: number; fsync?: string; limits?: boolean; logLevel?: GatewayConfig['logLevel']; insecureHttp?: boolean; mtls?: boolean; name: string[]; ip: string[] }

function effectiveConfig(opts: ServerFlags): GatewayConfig {
  const config = structuredClone(opts.config ? loadGatewayConfigFile(opts.config) : gatewayDefaults) as GatewayConfig;
  if (opts.data !== undefined) config.dataDir = opts.data;
  if (opts.host !== undefined) config.host = opts.host;
  if (opts.port !== undefined) config.port = opts.port;
  if (opts.fsync !== undefined) {
    const policy = parseFsyncPolicy(opts.fsync);
    if (!policy) throw new ConfigError(`--fsync must be always, never or interval:<ms> (got "${opts.fsync}")`);
    config.fsync = policy;
  }
  if (opts.limits === false) config.enforceLimits = false;
  if (opts.logLevel) config.logLevel = opts.logLevel;
  if (opts.insecureHttp) config.tlsEnabled = false;
  if (opts.mtls) config.tlsMutual = true;
  if (opts.name?.length) config.tlsNames = [...config.tlsNames, ...opts.name];
  if (opts.ip?.length) config.tlsIps = [...config.tlsIps, ...opts.ip];
  if (config.tlsMutual && !config.tlsEnabled) throw new ConfigError('--mtls needs TLS: drop --insecure-http');
  return config;
}

const serverOptions = (cmd: Command) =>
  cmd
    .option('-c, --config <file>', 'YAML config file (see configs/gateway.example.yaml)')
    .option('--data <dir>', `data directory (default ${gatewayDefaults.dataDir})`)
    .option('--host <host>', `address to listen on (default ${gatewayDefaults.host})`)
    .option('--port <port>', `port to listen on, 0 for any free port (default ${gatewayDefaults.port})`, port)
    .option('--name <dns>', 'extra DNS name for the server certificate (repeatable)', collect, [])
    .option('--ip <address>', 'extra IP address for the server certificate (repeatable)', collect, []);

serverOptions(gateway.command('start'))
  .description('Start the gateway: HTTPS with SigV4 authentication on its embedded storage. The first start creates the CA, the server certificate and operator credentials (<data>/operator.json).')
  .option('--fsync <policy>', 'when acknowledged writes are fsynced: always | never | interval:<ms> (default always)')
  .option('--no-limits', 'do not enforce the per-shard throughput limits')
  .option('--insecure-http', 'serve plain HTTP instead of HTTPS (local development only; requests are still signed)')
  .option('--mtls', 'require client certificates issued by the gateway CA (mutual TLS)')
  .addOption(new Option('--log-level <level>', 'log level').choices(['debug', 'info', 'warn', 'error']))
  .action(async (opts: ServerFlags) => {
    const config = effectiveConfig(opts);
    const log = createLogger({ level: config.logLevel });
    const gw = await startGateway(config, { log });
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info('stopping', { signal });
      setTimeout(() => process.exit(1), 10_000).unref();
      gw.close().then(
        () => process.exit(0),
        (err) => {
          log.error('shutdown failed', { err: String(err) });
          process.exit(1);
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', () => {
      try {
        gw.reloadTls();
      } catch (err) {
        log.error('TLS reload failed; still serving the previous certificate', { err: (err as Error).message });
      }
    });
  });

serverOptions(gateway.command('init'))
  .description('Create the gateway CA, its server certificate, operator credentials (with a client certificate) and the metrics token in the data directory, and print the CA fingerprint.')
  .option('--insecure-http', 'the gateway will serve plain HTTP (the profile gets an http:// endpoint)')
  .option('--force', 'issue a new server certificate (for new --name/--ip) under the existing CA; a running gateway takes it on SIGHUP')
  .action(async (opts: ServerFlags & { force?: boolean }) => {
    const config = effectiveConfig(opts);
    const dataDir = path.resolve(config.dataDir);
    const log = createLogger({ level: 'warn' });
    if (config.tlsEnabled) await ensureTls(config, dataDir, log, { renewServerCertificate: Boolean(opts.force) });
    const masterKey = await loadOrCreateSecret(path.join(dataDir, 'keys', 'master.key'), 32);
    const principals = await PrincipalStore.open(new JsonFileStore<SecurityDoc>(path.join(dataDir, 'metadata', 'security.json')), new RecordCipher(masterKey));
    const tls = config.tlsEnabled ? loadTlsMaterial(path.join(dataDir, 'tls')) : undefined;
    const profileFile = path.join(dataDir, operatorProfileName);
    // The endpoint is a guess until the gateway starts (it rewrites it); the client certificate lets the CLI in under --mtls.
    const endpoint = `${tls ? 'https' : 'http'}://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${config.port}`;
    const created = await provisionOperatorProfile({
      principals, file: profileFile, endpoint, region: config.region, refreshEndpoint: false,
      tls: tls ? { dir: path.join(dataDir, 'tls'), ca: tls.ca.toString('utf8') } : undefined,
    });
    const operator = created ?? 'existing';
    const metricsTokenFile = config.metricsOpen ? null : config.metricsTokenFile ? path.resolve(config.metricsTokenFile) : path.join(dataDir, metricsTokenFileName);
    if (metricsTokenFile) await loadOrCreateMetricsToken(metricsTokenFile);
    print({ dataDir, caFingerprint: tls?.caFingerprint ?? null, caCertificate: tls ? path.join(dataDir, 'tls', 'ca.crt') : null, operatorProfile: profileFile, operatorAccessKeyId: operator, metricsTokenFile });
  });

gateway
  .command('check-config <file>')
  .description('Validate a gateway config file and print the effective settings.')
  .action((file: string) => {
    const c = loadGatewayConfigFile(file);
    // Secrets stay in the file: the printout shows that a store's secret key is set, not its value.
    print({
      ...c,
      firehoseS3Buckets: Object.fromEntries(Object.entries(c.firehoseS3Buckets).map(([bucket, s3]) => [bucket, { ...s3, secretAccessKey: '(set)' }])),
      analyticsLambdas: Object.fromEntries(Object.entries(c.analyticsLambdas).map(([arn, t]) => [arn, 'password' in t && t.password !== undefined ? { ...t, password: '(set)' } : t])),
    });
  });

// ---------------------------------------------------------------- admin API clients

interface ClientFlags { profile?: string; endpoint?: string }

function loadProfile(o: ClientFlags): OperatorProfile {
  const file = o.profile ?? process.env.TRIBUTARY_PROFILE ?? path.join(gatewayDefaults.dataDir, operatorProfileName);
  let profile: OperatorProfile;
  try {
    profile = JSON.parse(fs.readFileSync(file, 'utf8')) as OperatorProfile;
  } catch (err) {
    throw new TributaryError('PROFILE_MISSING', `cannot read operator profile ${file}: ${(err as Error).message} (start the gateway once, or run tributary gateway init, or pass --profile)`);
  }
  if (o.endpoint) profile.endpoint = o.endpoint;
  return profile;
}

const targetPrefixes = { kinesis: 'Kinesis_20131202', tributary: 'Tributary_20261125', kinesisanalytics: 'KinesisAnalytics_20150814' } as const;

function clientFor(o: ClientFlags, service: keyof typeof targetPrefixes): JsonRpcClient {
  const p = loadProfile(o);
  return new JsonRpcClient({
    endpoint: p.endpoint,
    region: p.region,
    service,
    targetPrefix: targetPrefixes[service],
    credentials: { accessKeyId: p.accessKeyId, secretAccessKey: p.secretAccessKey },
    ...tlsOptionsOf(p),
  });
}

/** The profile's CA, and its client certificate for gateways that require mutual TLS. */
function tlsOptionsOf(p: OperatorProfile): { ca?: string; cert?: string; key?: string } {
  return { ...(p.caCertificate ? { ca: p.caCertificate } : {}), ...(p.clientCertificate && p.clientKey ? { cert: p.clientCertificate, key: p.clientKey } : {}) };
}

const clientCommand = (parent: Command, spec: string, description: string) =>
  parent
    .command(spec)
    .description(description)
    .option('-p, --profile <file>', `operator profile (default $TRIBUTARY_PROFILE or ./data/${operatorProfileName})`)
    .option('-e, --endpoint <url>', "gateway URL (default: the profile's)");

async function call<T = Record<string, unknown>>(o: ClientFlags, service: keyof typeof targetPrefixes, action: string, input: unknown): Promise<T> {
  const c = clientFor(o, service);
  try {
    return await c.call<T>(action, input);
  } finally {
    c.close();
  }
}

// ---------------------------------------------------------------- devices

const devices = program.command('devices').description('Pair, list, revoke and rotate devices.');

clientCommand(devices, 'pair-code', 'Create a one-time pairing code for a device.')
  .requiredOption('-n, --name <name>', 'device name (used in policies as ${device})')
  .option('--policy <policy>', 'policy for the device', 'device')
  .option('--ttl <duration>', 'how long the code is valid (e.g. 10m)', duration, 600)
  .action(async (o: ClientFlags & { name: string; policy: string; ttl: number }) => {
    const r = await call<{ Code: string; ExpiresAt: number; CaFingerprint?: string }>(o, 'tributary', 'CreatePairingCode', { DeviceName: o.name, Policy: o.policy, TtlSeconds: o.ttl });
    print({ code: r.Code, expiresAt: new Date(r.ExpiresAt * 1000).toISOString(), caFingerprint: r.CaFingerprint ?? null, device: o.name, policy: o.policy });
  });

clientCommand(devices, 'list', 'List paired devices.').action(async (o: ClientFlags) => print(await call(o, 'tributary', 'ListPrincipals', { Kind: 'device' })));
clientCommand(devices, 'revoke <device>', 'Revoke a device (name, device id or access key id); refused from its next request on.')
  .action(async (id: string, o: ClientFlags) => print(await call(o, 'tributary', 'RevokePrincipal', { Id: id })));
clientCommand(devices, 'rotate <device>', "Replace a device's access key; the old key stops working at once.")
  .action(async (id: string, o: ClientFlags) => print(await call(o, 'tributary', 'RotatePrincipal', { Id: id })));

devices
  .command('pair <gateway-url> <code>')
  .description('Pair this machine as a device (what the agent does): pins the CA fingerprint and stores credentials (0600).')
  .requiredOption('--ca-fingerprint <fingerprint>', 'the CA fingerprint the operator was given with the code')
  .option('--dir <dir>', 'where to store credentials.json', '.')
  .action(async (url: string, code: string, o: { caFingerprint: string; dir: string }) => {
    const creds = await pairDevice({ endpoint: url, code, caFingerprint: o.caFingerprint, directory: o.dir });
    print({ paired: creds.name, deviceId: creds.deviceId, accessKeyId: creds.accessKeyId, policy: creds.policy, credentials: path.join(path.resolve(o.dir), 'credentials.json') });
  });

// ---------------------------------------------------------------- credentials

const credentials = program.command('credentials').description('Operator credentials: list, create, rotate, revoke.');
clientCommand(credentials, 'list', 'List operator credentials (never their secrets).').action(async (o: ClientFlags) => print(await call(o, 'tributary', 'ListPrincipals', { Kind: 'operator' })));
clientCommand(credentials, 'create <name>', 'Create operator credentials; the secret is printed once.')
  .option('--policy <policy>', 'policy', 'admin')
  .action(async (name: string, o: ClientFlags & { policy: string }) => print(await call(o, 'tributary', 'CreateOperator', { Name: name, Policy: o.policy })));
clientCommand(credentials, 'rotate <access-key-id>', 'Replace an operator key; the old one stops working at once. Update your profile with the printed secret.')
  .action(async (id: string, o: ClientFlags) => print(await call(o, 'tributary', 'RotatePrincipal', { Id: id })));
clientCommand(credentials, 'revoke <access-key-id>', 'Revoke operator credentials.').action(async (id: string, o: ClientFlags) => print(await call(o, 'tributary', 'RevokePrincipal', { Id: id })));

// ---------------------------------------------------------------- policies

const policies = program.command('policies').description('Policies: which actions on which resources a principal may use.');
clientCommand(policies, 'list', 'List built-in and custom policies.').action(async (o: ClientFlags) => print(await call(o, 'tributary', 'ListPolicies', {})));
clientCommand(policies, 'put <name> <file>', 'Create or replace a custom policy from a JSON file ({"statements":[{"actions":[...],"resources":[...]}]}).')
  .action(async (name: string, file: string, o: ClientFlags) => {
    await call(o, 'tributary', 'PutPolicy', { Name: name, Document: fs.readFileSync(file, 'utf8') });
    print({ put: name });
  });
clientCommand(policies, 'delete <name>', 'Delete a custom policy no principal uses.').action(async (name: string, o: ClientFlags) => {
  await call(o, 'tributary', 'DeletePolicy', { Name: name });
  print({ deleted: name });
});

// ---------------------------------------------------------------- streams

const streams = program.command('streams').description('Administer Data Streams on a running gateway.');

clientCommand(streams, 'list', 'List streams.').action(async (o: ClientFlags) => print(await call(o, 'kinesis', 'ListStreams', {})));
clientCommand(streams, 'create <name>', 'Create a stream.')
  .option('-s, --shards <n>', 'shard count (provisioned mode)', (v) => Number(v), 1)
  .option('--on-demand', 'on-demand capacity mode')
  .option('--no-wait', 'return at once instead of waiting until the stream is ACTIVE')
  .action(async (name: string, o: ClientFlags & { shards: number; onDemand?: boolean; wait: boolean }) => {
    const c = clientFor(o, 'kinesis');
    try {
      await c.call('CreateStream', o.onDemand ? { StreamName: name, StreamModeDetails: { StreamMode: 'ON_DEMAND' } } : { StreamName: name, ShardCount: o.shards });
      // A stream is CREATING for a moment and refuses records until ACTIVE: wait, so that the next command can use it.
      const deadline = Date.now() + 120_000;
      while (o.wait) {
        const { StreamDescriptionSummary: s } = await c.call<{ StreamDescriptionSummary: { StreamStatus: string } }>('DescribeStreamSummary', { StreamName: name });
        if (s.StreamStatus === 'ACTIVE') break;
        if (Date.now() > deadline) throw new TributaryError('STREAM_NOT_ACTIVE', `stream ${name} is still ${s.StreamStatus} after 120 s`);
        await new Promise((res) => setTimeout(res, 250));
      }
    } finally {
      c.close();
    }
    print({ created: name });
  });
clientCommand(streams, 'describe <name>', 'Describe a stream.').action(async (name: string, o: ClientFlags) => print(await call(o, 'kinesis', 'DescribeStreamSummary', { StreamName: name })));
clientCommand(streams, 'delete <name>', 'Delete a stream.').action(async (name: string, o: ClientFlags) => {
  await call(o, 'kinesis', 'DeleteStream', { StreamName: name });
  print({ deleting: name });
});
clientCommand(streams, 'put <name> <data>', 'Put one record (data as UTF-8 text).')
  .option('-k, --partition-key <key>', 'partition key', 'cli')
  .action(async (name: string, data: string, o: ClientFlags & { partitionKey: string }) => {
    print(await call(o, 'kinesis', 'PutRecord', { StreamName: name, PartitionKey: o.partitionKey, Data: Buffer.from(data).toString('base64') }));
  });
clientCommand(streams, 'tail <name>', 'Print records from every shard as JSON lines, following them until interrupted; KPL aggregates are split into their user records and JSON payloads printed as JSON.')
  .addOption(new Option('--from <position>', 'where to start').choices(['trim-horizon', 'latest']).default('latest'))
  .option('--raw', 'one line per Kinesis record with its data as UTF-8 text, no de-aggregation')
  .action(async (name: string, o: ClientFlags & { from: string; raw?: boolean }) => {
    const c = clientFor(o, 'kinesis');
    const { Shards } = await c.call<{ Shards: Array<{ ShardId: string }> }>('ListShards', { StreamName: name, ShardFilter: { Type: o.from === 'latest' ? 'AT_LATEST' : 'FROM_TRIM_HORIZON' } });
    const type = o.from === 'latest' ? 'LATEST' : 'TRIM_HORIZON';
    const iterators = new Map<string, string>();
    const finished = new Set<string>();
    for (const s of Shards) iterators.set(s.ShardId, (await c.call<{ ShardIterator: string }>('GetShardIterator', { StreamName: name, ShardId: s.ShardId, ShardIteratorType: type })).ShardIterator);
    while (iterators.size) {
      for (const [shardId, it] of iterators) {
        const r = await c.call<{ Records: TailRecord[]; NextShardIterator?: string; ChildShards?: Array<{ ShardId: string }> }>('GetRecords', { ShardIterator: it });
        for (const rec of r.Records) for (const line of tailLines(shardId, rec, { raw: Boolean(o.raw) })) process.stdout.write(line + '\n');
        if (r.NextShardIterator) iterators.set(shardId, r.NextShardIterator);
        else {
          // A closed shard is done; a child starts once all its parents are (per-key order).
          iterators.delete(shardId);
          finished.add(shardId);
          for (const child of (r.ChildShards ?? []) as Array<{ ShardId: string; ParentShards: string[] }>) {
            if (!iterators.has(child.ShardId) && child.ParentShards.every((p) => finished.has(p) || !Shards.some((s) => s.ShardId === p))) iterators.set(child.ShardId, (await c.call<{ ShardIterator: string }>('GetShardIterator', { StreamName: name, ShardId: child.ShardId, ShardIteratorType: 'TRIM_HORIZON' })).ShardIterator);
          }
        }
      }
      await new Promise((res) => setTimeout(res, 250));
    }
    c.close();
  });

registerReplayCommands(program, streams, { clientCommand, loadProfile });

// ---------------------------------------------------------------- analytics

registerAnalyticsCommands(analyticsCommandGroup(program), { clientCommand, call: (o, action, input) => call(o as ClientFlags, 'kinesisanalytics', action, input), print });

// ---------------------------------------------------------------- firehose (offline tools)

const firehoseTools = program.command('firehose').description('Firehose tools that work on files, without a running gateway.');

firehoseTools
  .command('decrypt <file>')
  .description('Decrypt an object delivered with KMSEncryptionConfig (the gateway-sealed format of docs/firehose.md), using the gateway\'s master key.')
  .option('--data <dir>', `the gateway's data directory, whose keys/master.key is used (default ${gatewayDefaults.dataDir})`)
  .option('--key-file <file>', 'the master key file itself (32 bytes), instead of --data')
  .option('-o, --out <file>', 'write the object body here (default: standard output)')
  .action((file: string, o: { data?: string; keyFile?: string; out?: string }) => {
    const keyFile = o.keyFile ?? path.join(o.data ?? gatewayDefaults.dataDir, 'keys', 'master.key');
    let masterKey: Buffer;
    try {
      masterKey = fs.readFileSync(keyFile);
    } catch (err) {
      throw new TributaryError('MASTER_KEY_MISSING', `cannot read master key ${keyFile}: ${(err as Error).message} (pass --data or --key-file)`);
    }
    if (masterKey.length !== 32) throw new TributaryError('MASTER_KEY_INVALID', `${keyFile} holds ${masterKey.length} bytes, expected 32`);
    const { body } = decryptObject(masterKey, fs.readFileSync(file));
    if (o.out) fs.writeFileSync(o.out, body, { mode: 0o600 });
    else process.stdout.write(body);
  });

// ---------------------------------------------------------------- analytics (offline runner)

addAnalyticsRunCommand(program);

registerVideoIngestCommands(program, loadProfile, print);
registerVideoPlaybackCommands(program, loadProfile, print);

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof TributaryError || err instanceof AwsError) {
    process.stderr.write(`tributary: ${err instanceof AwsError ? `${err.type}: ` : ''}${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`tributary: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
