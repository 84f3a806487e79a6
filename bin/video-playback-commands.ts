/**
 * `tributary video hls-url | clip | images`: playback from a shell, through
 * the archived-media API of a running gateway (the operator profile gives
 * endpoint, credentials and CA, as for the other client commands).
 *
 *   mpv "$(tributary video hls-url cam-front)"
 *   tributary video clip cam-front --start -10m --end now -o last-ten-minutes.mp4
 *   tributary video images cam-front --start 2026-12-07T10:00:00Z --end 2026-12-07T10:01:00Z --interval 5s -o frames/
 */
import fs from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { ArchivedMediaClient } from '../sdk/video/archived-media-client.ts';

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

/**
 * A point in time: `now`, a relative time (`-10m`, `-2h`, `-30s`), epoch
 * seconds, or ISO 8601; returned in epoch seconds (what the API takes).
 */
export function parseTime(text: string, nowMs = Date.now()): number {
  if (text === 'now') return nowMs / 1000;
  const rel = /^-(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text);
  if (rel) return (nowMs - Number(rel[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[2] as 's']!) / 1000;
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new InvalidArgumentError('must be now, a relative time such as -10m, epoch seconds, or an ISO 8601 time');
  return ms / 1000;
}

function milliseconds(text: string): number {
  const m = /^(\d+)(ms|s|m)?$/.exec(text);
  if (!m) throw new InvalidArgumentError('must be a duration such as 500ms, 5s or 1m');
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000 }[(m[2] ?? 'ms') as 'ms']!;
}

const selectorOf = (v: string) => (v === 'producer' ? 'PRODUCER_TIMESTAMP' : 'SERVER_TIMESTAMP');

/** Adds the playback commands under `tributary video` (creating it if the ingest commands have not). */
export function registerVideoPlaybackCommands(program: Command, loadProfile: (o: ClientFlags) => Profile, print: (v: unknown) => void): void {
  const video = program.commands.find((c) => c.name() === 'video') ?? program.command('video').description('Kinesis Video Streams on a running gateway.');
  const client = (o: ClientFlags) => {
    const p = loadProfile(o);
    return new ArchivedMediaClient({ endpoint: p.endpoint, region: p.region, credentials: { accessKeyId: p.accessKeyId, secretAccessKey: p.secretAccessKey }, ...(p.caCertificate ? { ca: p.caCertificate } : {}), ...(p.clientCertificate && p.clientKey ? { cert: p.clientCertificate, key: p.clientKey } : {}) });
  };
  const command = (spec: string, description: string) =>
    video
      .command(spec)
      .description(description)
      .option('-p, --profile <file>', 'operator profile (default $TRIBUTARY_PROFILE or ./data/operator.json)')
      .option('-e, --endpoint <url>', "gateway URL (default: the profile's)");

  command('hls-url <stream>', 'Print a streaming session URL to open in a player (HLS, or DASH with --dash).')
    .addOption(new Option('--mode <mode>', 'playback mode').choices(['live', 'live-replay', 'on-demand']).default('live'))
    .option('--start <time>', 'start of the range (live-replay, on-demand): now, -10m, epoch seconds or ISO 8601', (v) => parseTime(v))
    .option('--end <time>', 'end of the range (on-demand; optional for live-replay)', (v) => parseTime(v))
    .addOption(new Option('--selector <timestamps>', 'which timestamps the range is in').choices(['server', 'producer']).default('server'))
    .addOption(new Option('--container <format>', 'HLS segments').choices(['fmp4', 'ts']).default('fmp4'))
    .option('--expires <seconds>', 'session lifetime, 300-43200 s', (v) => Number(v), 300)
    .option('--max <fragments>', 'fragments per playlist (default 5 live, 1000 on demand)', (v) => Number(v))
    .option('--dash', 'an MPEG-DASH manifest URL instead of HLS')
    .action(async (stream: string, o: ClientFlags & { mode: string; start?: number; end?: number; selector: string; container: string; expires: number; max?: number; dash?: boolean }) => {
      const mode = o.mode.toUpperCase().replace('-', '_');
      const range = o.start !== undefined ? { StartTimestamp: o.start, ...(o.end !== undefined ? { EndTimestamp: o.end } : {}) } : undefined;
      const selector = { FragmentSelectorType: selectorOf(o.selector), ...(range ? { TimestampRange: range } : {}) };
      const c = client(o);
      try {
        if (o.dash) {
          const r = await c.call<{ DASHStreamingSessionURL: string }>('/getDASHStreamingSessionURL', { StreamName: stream, PlaybackMode: mode, DASHFragmentSelector: selector, Expires: o.expires, ...(o.max ? { MaxManifestFragmentResults: o.max } : {}) });
          process.stdout.write(r.DASHStreamingSessionURL + '\n');
        } else {
          const r = await c.call<{ HLSStreamingSessionURL: string }>('/getHLSStreamingSessionURL', {
            StreamName: stream, PlaybackMode: mode, HLSFragmentSelector: selector, ContainerFormat: o.container === 'ts' ? 'MPEG_TS' : 'FRAGMENTED_MP4', Expires: o.expires, ...(o.max ? { MaxMediaPlaylistFragmentResults: o.max } : {}),
          });
          process.stdout.write(r.HLSStreamingSessionURL + '\n');
        }
      } finally {
        c.close();
      }
    });

  command('clip <stream>', 'Save the stored video of a time range as one MP4 (GetClip: at most 200 fragments or 100 MB).')
    .requiredOption('--start <time>', 'start: now, -10m, epoch seconds or ISO 8601', (v) => parseTime(v))
    .option('--end <time>', 'end (default now)', (v) => parseTime(v), undefined)
    .addOption(new Option('--selector <timestamps>', 'which timestamps the range is in').choices(['server', 'producer']).default('server'))
    .requiredOption('-o, --out <file>', 'the MP4 file to write')
    .action(async (stream: string, o: ClientFlags & { start: number; end?: number; selector: string; out: string }) => {
      const c = client(o);
      try {
        const mp4 = await c.clip({ StreamName: stream, ClipFragmentSelector: { FragmentSelectorType: selectorOf(o.selector), TimestampRange: { StartTimestamp: o.start, EndTimestamp: o.end ?? Date.now() / 1000 } } });
        fs.writeFileSync(o.out, mp4);
        print({ file: path.resolve(o.out), bytes: mp4.length });
      } finally {
        c.close();
      }
    });

  command('images <stream>', 'Save still images of a time range (GetImages: one per sampling interval, at most 300 s).')
    .requiredOption('--start <time>', 'start: now, -10m, epoch seconds or ISO 8601', (v) => parseTime(v))
    .requiredOption('--end <time>', 'end', (v) => parseTime(v))
    .option('--interval <duration>', 'sampling interval, at least 200ms', milliseconds, 1000)
    .addOption(new Option('--format <format>', 'image format').choices(['jpeg', 'png']).default('jpeg'))
    .option('--quality <1-100>', 'JPEG quality (default 80)')
    .option('--width <pixels>', 'image width (the height follows the aspect ratio unless given too)', (v) => Number(v))
    .option('--height <pixels>', 'image height', (v) => Number(v))
    .addOption(new Option('--selector <timestamps>', 'which timestamps the range is in').choices(['server', 'producer']).default('server'))
    .requiredOption('-o, --out <dir>', 'directory for the images (created if missing)')
    .action(async (stream: string, o: ClientFlags & { start: number; end: number; interval: number; format: string; quality?: string; width?: number; height?: number; selector: string; out: string }) => {
      fs.mkdirSync(o.out, { recursive: true });
      const c = client(o);
      const saved: string[] = [];
      const missing: Array<{ timestamp: string; error: string }> = [];
      try {
        let NextToken: string | undefined;
        do {
          const r = await c.call<{ Images?: Array<{ TimeStamp: number; Error?: string; ImageContent?: string }>; NextToken?: string }>('/getImages', {
            StreamName: stream, ImageSelectorType: selectorOf(o.selector), StartTimestamp: o.start, EndTimestamp: o.end, SamplingInterval: o.interval,
            Format: o.format.toUpperCase(), ...(o.quality ? { FormatConfig: { JPEGQuality: o.quality } } : {}),
            ...(o.width ? { WidthPixels: o.width } : {}), ...(o.height ? { HeightPixels: o.height } : {}), ...(NextToken ? { NextToken } : {}),
          });
          for (const img of r.Images ?? []) {
            const when = new Date(img.TimeStamp * 1000).toISOString();
            if (!img.ImageContent) {
              missing.push({ timestamp: when, error: img.Error ?? 'NO_MEDIA' });
              continue;
            }
            const file = path.join(o.out, `${when.replace(/[:]/g, '-')}.${o.format === 'png' ? 'png' : 'jpg'}`);
            fs.writeFileSync(file, Buffer.from(img.ImageContent, 'base64'));
            saved.push(file);
          }
          NextToken = r.NextToken;
        } while (NextToken);
      } finally {
        c.close();
      }
      print({ saved: saved.length, directory: path.resolve(o.out), missing });
    });
}
