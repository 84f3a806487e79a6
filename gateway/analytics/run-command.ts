/**
 * `tributary analytics run`: the offline runner's command line (a contract;
 * the flags stay as they are). bin/tributary.ts calls `addAnalyticsRunCommand`.
 * The `analytics` command group is shared with the API subcommands: both
 * modules get it with `analyticsCommandGroup(program)`.
 */
import fs from 'node:fs';
import readline from 'node:readline';
import type { Command } from 'commander';
import { SchemaError } from './input/record-mapper.ts';
import { inputFromJson, referenceFromJson, runAnalytics } from './runner.ts';
import { SqlError } from './sql/errors.ts';
import { TributaryError } from '../../sdk/protocol/errors.ts';

/** The `analytics` command, created once whichever module asks first. */
export function analyticsCommandGroup(program: Command): Command {
  return program.commands.find((c) => c.name() === 'analytics') ?? program.command('analytics').description('Kinesis Data Analytics (SQL) applications: run SQL offline over captured records, and administer applications on a gateway.');
}

function readJson(file: string, flag: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new TributaryError('ANALYTICS_FILE', `${flag} ${file}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new TributaryError('ANALYTICS_FILE', `${flag} ${file}: not JSON: ${(err as Error).message}`);
  }
}

const collect = (v: string, prev: string[]) => [...prev, v];

interface RunFlags {
  code: string;
  input: string;
  records: string;
  reference: string[];
  rowtime?: string;
  output?: string;
}

/** Writes lines to stdout in large chunks, waiting when the pipe is full. */
function stdoutWriter() {
  let buf: string[] = [];
  let size = 0;
  const flush = async () => {
    if (buf.length === 0) return;
    const chunk = buf.join('');
    buf = [];
    size = 0;
    if (!process.stdout.write(chunk)) await new Promise((res) => process.stdout.once('drain', res));
  };
  return {
    write(line: string) {
      buf.push(line + '\n');
      size += line.length + 1;
    },
    pending: () => size > 1 << 16,
    flush,
  };
}

export function addAnalyticsRunCommand(program: Command): void {
  analyticsCommandGroup(program)
    .command('run')
    .description('Run application SQL over captured records, offline: print each row entering the output stream as a JSON line (ROWTIME first; TIMESTAMP as "YYYY-MM-DD HH:MM:SS.sss" UTC; NULL as null). At the end of the records every open window emits. A SQL error exits 1 with its line and column.')
    .requiredOption('--code <APP.sql>', 'the application code')
    .requiredOption('--input <INPUT.json>', "the API's Input object (NamePrefix, InputSchema, InputParallelism)")
    .requiredOption('--records <RECORDS.jsonl>', 'one Kinesis record per line as GetRecords returns it: Data (base64), PartitionKey, ApproximateArrivalTimestamp (ISO-8601 or epoch seconds), SequenceNumber')
    .option('--reference <REF.json=DATAFILE>', "a ReferenceDataSource object and the file holding its S3 object's content (repeatable)", collect, [])
    .option('--rowtime <JSONPATH>', "take ROWTIME from this field of each JSON payload (event time) instead of ApproximateArrivalTimestamp, e.g. '$.EVENT_TIME'")
    .option('--output <STREAM>', 'the in-application stream to print (default DESTINATION_SQL_STREAM; error_stream works too)')
    .action(async (o: RunFlags) => {
      const code = fs.readFileSync(o.code, 'utf8');
      const input = inputFromJson(readJson(o.input, '--input'), o.input);
      const references = o.reference.map((spec) => {
        const eq = spec.indexOf('=');
        if (eq <= 0) throw new TributaryError('ANALYTICS_REFERENCE', `--reference ${spec}: expected REF.json=DATAFILE`);
        const [refFile, dataFile] = [spec.slice(0, eq), spec.slice(eq + 1)];
        return referenceFromJson(readJson(refFile, '--reference'), refFile, fs.readFileSync(dataFile));
      });
      const out = stdoutWriter();
      const lines = readline.createInterface({ input: fs.createReadStream(o.records), crlfDelay: Infinity });
      async function* throttled() {
        for await (const line of lines) {
          yield line;
          if (out.pending()) await out.flush();
        }
      }
      try {
        await runAnalytics({ code, input, references, records: throttled(), recordsName: o.records, ...(o.rowtime ? { rowtimePath: o.rowtime } : {}), ...(o.output ? { output: o.output } : {}), write: out.write });
      } catch (err) {
        await out.flush();
        if (err instanceof SqlError) {
          process.stderr.write(`${o.code}:${err.line}:${err.column}: ${err.detail}\n${err.describe(code).split('\n').slice(1).join('\n')}\n`);
          process.exitCode = 1;
          return;
        }
        if (err instanceof SchemaError) {
          process.stderr.write(`${o.input}: ${err.message}\n`);
          process.exitCode = 1;
          return;
        }
        throw err;
      }
      await out.flush();
    });
}
