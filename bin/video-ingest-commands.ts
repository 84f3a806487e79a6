/**
 * `tributary video create | list | describe | delete | put`: video streams
 * and their ingest from a shell, against a running gateway (the operator
 * profile gives endpoint, credentials and CA, as for the other commands).
 *
 *   tributary video create cam-front --retention 24
 *   ffmpeg -i rtsp://camera/stream -c copy -f matroska - | tributary video put cam-front -
 *   tributary video put cam-front recording.mkv
 */
import fs from 'node:fs';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { VideoClient } from '../sdk/video/video-client.ts';
import { VideoProducer } from '../sdk/video/producer.ts';

interface Profile {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  caCertificate?: string;
  clientCertificate?: string;
  clientKey?: string;
}
interface ClientFlags {
  profile?: string;
  endpoint?: string;
}
interface StreamInfo {
  StreamName: string;
  StreamARN: string;
  Version: string;
  DataRetentionInHours: number;
}

const hours = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a whole number of hours (0: no persistence)');
  return n;
};

/** Adds the ingest and administration commands under `tributary video` (creating it). */
export function registerVideoIngestCommands(program: Command, loadProfile: (o: ClientFlags) => Profile, print: (v: unknown) => void): void {
  const video = program.commands.find((c) => c.name() === 'video') ?? program.command('video').description('Kinesis Video Streams on a running gateway: streams, ingest and playback.');
  const withClient = async <T>(o: ClientFlags, fn: (c: VideoClient, p: Profile) => Promise<T>): Promise<T> => {
    const p = loadProfile(o);
    const c = new VideoClient({ endpoint: p.endpoint, region: p.region, credentials: { accessKeyId: p.accessKeyId, secretAccessKey: p.secretAccessKey }, ...(p.caCertificate ? { ca: p.caCertificate } : {}), ...(p.clientCertificate && p.clientKey ? { cert: p.clientCertificate, key: p.clientKey } : {}) });
    try {
      return await fn(c, p);
    } finally {
      c.close();
    }
  };
  const command = (spec: string, description: string) =>
    video
      .command(spec)
      .description(description)
      .option('-p, --profile <file>', 'operator profile (default $TRIBUTARY_PROFILE or ./data/operator.json)')
      .option('-e, --endpoint <url>', "gateway URL (default: the profile's)");
  const describe = (c: VideoClient, name: string) => c.call<{ StreamInfo: StreamInfo }>('/describeStream', { StreamName: name }).then((r) => r.StreamInfo);

  command('create <stream>', 'Create a video stream.')
    .option('-r, --retention <hours>', 'hours to keep fragments (0: served live only, as AWS)', hours, 24)
    .option('--media-type <type>', 'MediaType, e.g. video/h264')
    .option('--device-name <name>', 'DeviceName')
    .action((name: string, o: ClientFlags & { retention: number; mediaType?: string; deviceName?: string }) =>
      withClient(o, async (c) => {
        const input = { StreamName: name, DataRetentionInHours: o.retention, ...(o.mediaType ? { MediaType: o.mediaType } : {}), ...(o.deviceName ? { DeviceName: o.deviceName } : {}) };
        print(await c.call('/createStream', input));
      }));

  command('list', 'List video streams.')
    .option('--prefix <text>', 'only streams whose name begins with this')
    .action((o: ClientFlags & { prefix?: string }) =>
      withClient(o, async (c) => {
        const all: StreamInfo[] = [];
        let NextToken: string | undefined;
        do {
          const page = await c.call<{ StreamInfoList: StreamInfo[]; NextToken?: string }>('/listStreams', {
            ...(o.prefix ? { StreamNameCondition: { ComparisonOperator: 'BEGINS_WITH', ComparisonValue: o.prefix } } : {}), ...(NextToken ? { NextToken } : {}),
          });
          all.push(...page.StreamInfoList);
          NextToken = page.NextToken;
        } while (NextToken);
        print(all);
      }));

  command('describe <stream>', 'Describe a video stream.').action((name: string, o: ClientFlags) => withClient(o, async (c) => print(await describe(c, name))));

  command('delete <stream>', 'Delete a video stream and its fragments.').action((name: string, o: ClientFlags) =>
    withClient(o, async (c) => {
      const info = await describe(c, name);
      await c.call('/deleteStream', { StreamARN: info.StreamARN, CurrentVersion: info.Version });
      print({ deleted: name });
    }));

  command('put <stream> <file>', 'Send MKV (a file, or - for stdin, e.g. piped from ffmpeg -f matroska -) with PutMedia; resumes after lost connections.')
    .addOption(new Option('--timecodes <type>', 'Cluster timecodes: absolute epoch ms, or relative to the start (default: detected)').choices(['absolute', 'relative']))
    .option('-q, --quiet', 'no line per acknowledged fragment on stderr')
    .action((name: string, file: string, o: ClientFlags & { timecodes?: 'absolute' | 'relative'; quiet?: boolean }) =>
      withClient(o, async (c, p) => {
        // Streams without retention never send PERSISTED: RECEIVED is as far as they go.
        const info = await describe(c, name);
        const producer = new VideoProducer({
          endpoint: p.endpoint, region: p.region, credentials: { accessKeyId: p.accessKeyId, secretAccessKey: p.secretAccessKey }, streamName: name,
          ...(p.caCertificate ? { ca: p.caCertificate } : {}), ...(p.clientCertificate && p.clientKey ? { cert: p.clientCertificate, key: p.clientKey } : {}),
          ackLevel: info.DataRetentionInHours > 0 ? 'PERSISTED' : 'RECEIVED',
          ...(o.timecodes ? { timecodeType: o.timecodes === 'absolute' ? 'ABSOLUTE' : 'RELATIVE' } : {}),
          onAck: (ack) => {
            if (!o.quiet && (ack.EventType === 'PERSISTED' || ack.EventType === 'ERROR' || (ack.EventType === 'RECEIVED' && info.DataRetentionInHours === 0))) process.stderr.write(JSON.stringify(ack) + '\n');
          },
        });
        const source = file === '-' ? process.stdin : fs.createReadStream(file, { highWaterMark: 256 * 1024 });
        const result = await producer.put(source);
        print({ stream: name, fragments: result.fragments.length, reconnects: result.reconnects, first: result.fragments[0]?.fragmentNumber, last: result.fragments.at(-1)?.fragmentNumber });
      }));
}
