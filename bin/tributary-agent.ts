#!/usr/bin/env node
/**
 * `tributary-agent`: the edge daemon's command line — pairing, configuration
 * checks and the operator's buffer tools. (The `run` loop lands with the
 * inputs and uplink.)
 */
import path from 'node:path';
import { Command } from 'commander';
import { loadAgentConfig } from '../agent/config.ts';
import { exportBuffer, inspectBuffer, verifyBuffer } from '../agent/buffer/index.ts';
import { pairDevice, credentialsFileName } from '../sdk/devices/pairing.ts';
import { AwsError, TributaryError } from '../sdk/protocol/errors.ts';

const program = new Command('tributary-agent')
  .description('Tributary edge agent: buffers telemetry, logs and video on the device and ships them to the gateway.')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)');

const print = (v: unknown): void => void process.stdout.write(JSON.stringify(v, null, 2) + '\n');
const defaultConfig = '/etc/tributary/agent.yaml';

/** The buffer root: --dir, or <state.dir>/buffer from the config. */
function bufferRoot(o: { config?: string; dir?: string }): string {
  if (o.dir) return path.resolve(o.dir);
  return path.join(loadAgentConfig(o.config ?? defaultConfig).state.dir, 'buffer');
}

program
  .command('check-config')
  .description('Validate the agent config and print the effective settings.')
  .option('-c, --config <file>', 'config file', defaultConfig)
  .action((o: { config: string }) => print(loadAgentConfig(o.config)));

program
  .command('pair <gateway-url> <code>')
  .description('Pair this device with a gateway: pins the CA fingerprint, creates the device identity and stores credentials (0600).')
  .requiredOption('--ca-fingerprint <fingerprint>', 'the CA fingerprint the operator was given with the code')
  .option('--state-dir <dir>', 'where credentials.json goes', '/var/lib/tributary')
  .action(async (url: string, code: string, o: { caFingerprint: string; stateDir: string }) => {
    const creds = await pairDevice({ endpoint: url, code, caFingerprint: o.caFingerprint, directory: o.stateDir });
    print({ paired: creds.name, deviceId: creds.deviceId, policy: creds.policy, credentials: path.join(path.resolve(o.stateDir), credentialsFileName) });
  });

const buffer = program.command('buffer').description('Inspect, verify and export the on-disk buffer (read-only; safe while the agent runs).');
const bufferCommand = (spec: string, description: string) =>
  buffer.command(spec).description(description).option('-c, --config <file>', 'config file (for state.dir)', defaultConfig).option('--dir <dir>', 'buffer root directory (instead of the config)');

bufferCommand('inspect', 'Depth, ages and segments per destination.').action(async (o: { config?: string; dir?: string }) => print(await inspectBuffer(bufferRoot(o))));
bufferCommand('verify', 'Check every record checksum; exit 1 on corruption.').action(async (o: { config?: string; dir?: string }) => {
  const r = await verifyBuffer(bufferRoot(o));
  print(r);
  if (!r.ok) process.exitCode = 1;
});
bufferCommand('export <destination> <file>', 'Write unsent records as JSON lines that offline replay reads.').action(async (destination: string, file: string, o: { config?: string; dir?: string }) => {
  print(await exportBuffer(bufferRoot(o), destination, file));
});

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof TributaryError || err instanceof AwsError) {
    process.stderr.write(`tributary-agent: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`tributary-agent: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
