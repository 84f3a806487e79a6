#!/usr/bin/env node
/**
 * The `tributary` command: run the gateway, check its configuration, and
 * administer streams from a shell.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError, loadGatewayConfigFile } from '../gateway/config.ts';
import { gatewayDefaults, startGateway, type GatewayConfig } from '../gateway/gateway.ts';
import { createLogger } from '../gateway/log.ts';
import { parseFsyncPolicy } from '../gateway/storage/types.ts';
import { AwsError, TributaryError } from '../sdk/protocol/errors.ts';
import { StreamsRpcClient } from '../sdk/streams/rpc-client.ts';

const program = new Command('tributary')
  .description('Self-hosted, Kinesis-compatible data pipeline for fleets of edge devices.')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)');

const gateway = program.command('gateway').description('Run and configure the gateway server.');

const port = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be a port number 0..65535');
  return n;
};

gateway
  .command('start')
  .description('Start the gateway on its embedded storage (Data Streams API on one port, HTTP/1.1 and h2c).')
  .option('-c, --config <file>', 'YAML config file (see configs/gateway.example.yaml)')
  .option('--data <dir>', `data directory (default ${gatewayDefaults.dataDir})`)
  .option('--host <host>', `address to listen on (default ${gatewayDefaults.host})`)
  .option('--port <port>', `port to listen on, 0 for any free port (default ${gatewayDefaults.port})`, port)
  .option('--fsync <policy>', 'when acknowledged writes are fsynced: always | never | interval:<ms> (default always)')
  .option('--no-limits', 'do not enforce the per-shard throughput limits')
  .addOption(new Option('--log-level <level>', 'log level').choices(['debug', 'info', 'warn', 'error']))
  .action(async (opts: { config?: string; data?: string; host?: string; port?: number; fsync?: string; limits: boolean; logLevel?: GatewayConfig['logLevel'] }) => {
    const config = { ...(opts.config ? loadGatewayConfigFile(opts.config) : gatewayDefaults) } as GatewayConfig;
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
    const log = createLogger({ level: config.logLevel });
    const gw = await startGateway(config, { log });
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info('stopping', { signal });
      const force = setTimeout(() => process.exit(1), 10_000);
      force.unref();
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
  });

gateway
  .command('check-config <file>')
  .description('Validate a gateway config file and print the effective settings.')
  .action((file: string) => {
    const config = loadGatewayConfigFile(file);
    process.stdout.write(JSON.stringify(config, null, 2) + '\n');
  });

const endpointOption = () => new Option('-e, --endpoint <url>', 'gateway URL').default(process.env.TRIBUTARY_ENDPOINT ?? 'http://127.0.0.1:4567');
const streams = program.command('streams').description('Administer Data Streams on a running gateway.');
const client = (endpoint: string) => new StreamsRpcClient({ endpoint });
const print = (v: unknown): void => void process.stdout.write(JSON.stringify(v, null, 2) + "\n");

streams.command('list').description('List streams.').addOption(endpointOption())
  .action(async (o: { endpoint: string }) => print(await client(o.endpoint).call('ListStreams', {})));

streams.command('create <name>').description('Create a stream.').addOption(endpointOption())
  .option('-s, --shards <n>', 'shard count (provisioned mode)', (v) => Number(v), 1)
  .option('--on-demand', 'on-demand capacity mode')
  .action(async (name: string, o: { endpoint: string; shards: number; onDemand?: boolean }) => {
    await client(o.endpoint).call('CreateStream', o.onDemand ? { StreamName: name, StreamModeDetails: { StreamMode: 'ON_DEMAND' } } : { StreamName: name, ShardCount: o.shards });
    print({ created: name });
  });

streams.command('describe <name>').description('Describe a stream.').addOption(endpointOption())
  .action(async (name: string, o: { endpoint: string }) => print(await client(o.endpoint).call('DescribeStreamSummary', { StreamName: name })));

streams.command('delete <name>').description('Delete a stream.').addOption(endpointOption())
  .action(async (name: string, o: { endpoint: string }) => {
    await client(o.endpoint).call('DeleteStream', { StreamName: name });
    print({ deleting: name });
  });

streams.command('put <name> <data>').description('Put one record (data as UTF-8 text).').addOption(endpointOption())
  .option('-k, --partition-key <key>', 'partition key', 'cli')
  .action(async (name: string, data: string, o: { endpoint: string; partitionKey: string }) => {
    print(await client(o.endpoint).call('PutRecord', { StreamName: name, PartitionKey: o.partitionKey, Data: Buffer.from(data).toString('base64') }));
  });

streams.command('tail <name>').description('Print records from every open shard as JSON lines until interrupted.').addOption(endpointOption())
  .addOption(new Option('--from <position>', 'where to start').choices(['trim-horizon', 'latest']).default('latest'))
  .action(async (name: string, o: { endpoint: string; from: string }) => {
    const c = client(o.endpoint);
    const { Shards } = await c.call<{ Shards: Array<{ ShardId: string; SequenceNumberRange: { EndingSequenceNumber?: string } }> }>('ListShards', { StreamName: name });
    const type = o.from === 'latest' ? 'LATEST' : 'TRIM_HORIZON';
    const iterators = new Map<string, string>();
    for (const s of Shards) {
      const r = await c.call<{ ShardIterator: string }>('GetShardIterator', { StreamName: name, ShardId: s.ShardId, ShardIteratorType: type });
      iterators.set(s.ShardId, r.ShardIterator);
    }
    for (;;) {
      for (const [shardId, it] of iterators) {
        const r = await c.call<{ Records: Array<{ SequenceNumber: string; PartitionKey: string; Data: string }>; NextShardIterator?: string }>('GetRecords', { ShardIterator: it });
        for (const rec of r.Records) {
          process.stdout.write(JSON.stringify({ shardId, sequenceNumber: rec.SequenceNumber, partitionKey: rec.PartitionKey, data: Buffer.from(rec.Data, 'base64').toString('utf8') }) + '\n');
        }
        if (r.NextShardIterator) iterators.set(shardId, r.NextShardIterator);
        else iterators.delete(shardId);
      }
      if (!iterators.size) return;
      await new Promise((res) => setTimeout(res, 250));
    }
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof TributaryError || err instanceof AwsError) {
    process.stderr.write(`tributary: ${err instanceof AwsError ? `${err.type}: ` : ''}${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`tributary: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
