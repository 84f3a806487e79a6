/**
 * The GET endpoints a player reaches through a session URL, named as AWS
 * names them: /hls/v1/getHLSMasterPlaylist.m3u8, getHLSMediaPlaylist.m3u8,
 * getMP4InitFragment.mp4, getMP4MediaFragment.mp4, getTSFragment.ts and
 * /dash/v1/getDASHManifest.mpd (with its own init and media fragment paths).
 * Requests are not signed: the SessionToken authorizes them. Every request
 * checks, in order: the token's signature, its expiry, that the stream still
 * exists, that the principal's policy still allows playback, then that the
 * fragment belongs to the session.
 */
import type http from 'node:http';
import { AwsError } from '../../../sdk/protocol/errors.ts';
import { parseConfig } from '../packaging/codec-config.ts';
import { parseStreamHeader } from '../packaging/mkv-samples.ts';
import type { PlaybackContext } from './context.ts';
import { dashManifest } from './dash-manifest.ts';
import { discontinuitiesBefore, masterPlaylist, mediaPlaylist } from './hls-playlists.ts';
import { fragmentInSession, rangeOf, selectFragments } from './selection.ts';
import { SessionVerifier, type PlaybackSession } from './session-token.ts';
import type { SegmentKind } from './segments.ts';
import type { FragmentMeta, PlaybackStream } from './source.ts';

type Handler = (ctx: PlaybackContext, session: PlaybackSession, stream: PlaybackStream, query: URLSearchParams) => Promise<Reply>;
interface Reply {
  contentType: string;
  parts: Buffer[];
  /** Playlists change (live); segments never do. */
  cacheable: boolean;
}

const notAuthorized = (message: string) => new AwsError('NotAuthorizedException', message, 401);
const invalid = (message: string) => new AwsError('InvalidArgumentException', message);
const text = (contentType: string, body: string): Reply => ({ contentType, parts: [Buffer.from(body, 'utf8')], cacheable: false });

/** The route table to mount on the front door (exact paths). */
export function playbackRoutes(ctx: PlaybackContext): Record<string, (req: http.IncomingMessage, res: http.ServerResponse) => void> {
  const verifier = new SessionVerifier(ctx.sessionKey);
  const route = (kind: 'hls' | 'dash', action: string, handler: Handler) => (req: http.IncomingMessage, res: http.ServerResponse) => {
    const started = process.hrtime.bigint();
    const done = (outcome: string) => ctx.observe?.(action, outcome, Number(process.hrtime.bigint() - started) / 1e9);
    serve(ctx, verifier, kind, handler, req, res).then(
      (sent) => {
        if (sent.media) ctx.sent?.(action, sent.stream, sent.bytes);
        done('ok');
      },
      (err: unknown) => {
        if (!(err instanceof AwsError)) ctx.internalError?.(action, err);
        done(sendError(res, err));
      },
    );
  };
  return {
    '/hls/v1/getHLSMasterPlaylist.m3u8': route('hls', 'GetHLSMasterPlaylist', master),
    '/hls/v1/getHLSMediaPlaylist.m3u8': route('hls', 'GetHLSMediaPlaylist', media),
    '/hls/v1/getMP4InitFragment.mp4': route('hls', 'GetMP4InitFragment', init),
    '/hls/v1/getMP4MediaFragment.mp4': route('hls', 'GetMP4MediaFragment', (c, s, st, q) => fragment(c, s, st, q, 'fmp4')),
    '/hls/v1/getTSFragment.ts': route('hls', 'GetTSFragment', (c, s, st, q) => fragment(c, s, st, q, 'ts')),
    '/dash/v1/getDASHManifest.mpd': route('dash', 'GetDASHManifest', manifest),
    '/dash/v1/getMP4InitFragment.mp4': route('dash', 'GetMP4InitFragment', init),
    '/dash/v1/getMP4MediaFragment.mp4': route('dash', 'GetMP4MediaFragment', (c, s, st, q) => fragment(c, s, st, q, 'fmp4')),
  };
}

/** Serves one GET; says what was sent (media: a segment, as opposed to a playlist or manifest). */
async function serve(ctx: PlaybackContext, verifier: SessionVerifier, kind: 'hls' | 'dash', handler: Handler, req: http.IncomingMessage, res: http.ServerResponse): Promise<{ stream: string; bytes: number; media: boolean }> {
  if (req.method !== 'GET') throw invalid('Streaming session URLs answer GET only.');
  const query = new URL(req.url ?? '/', 'http://localhost').searchParams;
  const token = query.get('SessionToken');
  if (!token) throw invalid('SessionToken is required.');
  const check = verifier.verify(token, ctx.now());
  if (!check.ok) throw notAuthorized(check.reason === 'expired' ? 'The streaming session has expired.' : 'The session token is not valid.');
  const session = check.session;
  if (session.kind !== kind) throw invalid(`This session token is for ${session.kind.toUpperCase()}, not ${kind.toUpperCase()}.`);
  const stream = ctx.streams.byArn(session.streamArn);
  if (!stream) throw new AwsError('ResourceNotFoundException', `Stream ${session.streamName} was not found.`, 404);
  const action = kind === 'hls' ? 'kinesisvideo:GetHLSStreamingSessionURL' : 'kinesisvideo:GetDASHStreamingSessionURL';
  if (!ctx.allowed(session.principal, action, `videostream/${stream.name}`)) throw notAuthorized(`The session's credentials may no longer play stream ${stream.name}.`);
  const reply = await handler(ctx, session, stream, query);
  const length = reply.parts.reduce((n, p) => n + p.length, 0);
  res.writeHead(200, {
    'Content-Type': reply.contentType,
    'Content-Length': length,
    'Cache-Control': reply.cacheable ? 'private, max-age=3600' : 'no-cache',
    'Access-Control-Allow-Origin': '*',
  });
  if (reply.parts.length === 1) res.end(reply.parts[0]);
  else {
    res.cork();
    for (const p of reply.parts) res.write(p);
    res.uncork();
    res.end();
  }
  return { stream: stream.name, bytes: length, media: reply.cacheable };
}

/** Answers an error as the REST-JSON actions do; returns its type (the metrics outcome). */
function sendError(res: http.ServerResponse, err: unknown): string {
  const e = err instanceof AwsError ? err : new AwsError('InternalFailure', 'The gateway failed to package the media.', 500);
  if (res.headersSent) {
    res.destroy();
    return e.type;
  }
  // Kinesis Video's REST errors: the type in x-amzn-ErrorType, `{"Message": ...}` (as gateway/http/rest.ts sends them).
  const body = JSON.stringify({ Message: e.message });
  res.writeHead(e.status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'x-amzn-ErrorType': e.type, 'Access-Control-Allow-Origin': '*' });
  res.end(body);
  return e.type;
}

/** What the session lists now, and where its first entry sits. */
function listing(stream: PlaybackStream, s: PlaybackSession, now: number) {
  const selection = selectFragments(stream.fragments, s, now);
  const all = s.mode === 'LIVE' ? stream.fragments.list() : rangeOf(stream.fragments, s.selector, s.startMs!, s.endMs ?? Number.MAX_SAFE_INTEGER);
  return { ...selection, all };
}

/** The track description (codec string, size) from a fragment's stream header, and the peak bit rate. */
async function describe(stream: PlaybackStream, fragments: readonly FragmentMeta[]) {
  const sample = fragments[0];
  if (!sample) throw new AwsError('ResourceNotFoundException', `No fragments found in stream ${stream.name} for this session.`, 404);
  const media = await stream.fragments.read(sample.FragmentNumber);
  if (!media) throw new AwsError('ResourceNotFoundException', `No fragments found in stream ${stream.name} for this session.`, 404);
  const { track } = parseStreamHeader(media.header);
  const bandwidth = fragments.reduce((n, f) => Math.max(n, (f.FragmentSizeInBytes * 8000) / Math.max(1, f.FragmentLengthInMilliseconds)), 0);
  return { track, codecString: parseConfig(track.codec, track.config).codecString, bandwidth };
}

const master: Handler = async (ctx, s, stream, query) => {
  const { fragments } = listing(stream, s, ctx.now());
  const d = await describe(stream, fragments.length ? fragments : stream.fragments.list().slice(-1));
  return text('application/vnd.apple.mpegurl', masterPlaylist({ token: query.get('SessionToken')!, codecString: d.codecString, width: d.track.width, height: d.track.height, bandwidth: d.bandwidth }));
};

const media: Handler = async (ctx, s, stream, query) => {
  const { fragments, first, complete, all } = listing(stream, s, ctx.now());
  return text('application/vnd.apple.mpegurl', mediaPlaylist({
    token: query.get('SessionToken')!, container: s.container, fragments,
    ...(first > 0 ? { before: all[first - 1]! } : {}),
    mediaSequence: first,
    discontinuitySequence: discontinuitiesBefore(all, first, s.discontinuity, s.selector),
    discontinuity: s.discontinuity, displayTimestamp: s.displayTimestamp, selector: s.selector,
    complete, vod: s.mode === 'ON_DEMAND',
  }));
};

const manifest: Handler = async (ctx, s, stream, query) => {
  const { fragments } = listing(stream, s, ctx.now());
  const d = await describe(stream, fragments.length ? fragments : stream.fragments.list().slice(-1));
  return text('application/dash+xml', dashManifest({
    token: query.get('SessionToken')!, codecString: d.codecString, width: d.track.width, height: d.track.height, bandwidth: d.bandwidth,
    fragments, selector: s.selector, dynamic: s.mode !== 'ON_DEMAND',
    displayTimestamp: s.displayTimestamp, displayNumber: s.displayNumber ?? 'NEVER',
    availabilityStartMs: s.createdMs, publishMs: ctx.now(),
  }));
};

/** The init segment: from the named fragment's stream header, else the first fragment the session lists. */
const init: Handler = async (ctx, s, stream, query) => {
  if (s.container !== 'FRAGMENTED_MP4') throw invalid('This session uses MPEG_TS: fetch getTSFragment.ts instead.');
  const named = query.get('FragmentNumber');
  const meta = named ? sessionFragment(stream, s, named) : listing(stream, s, ctx.now()).fragments[0] ?? stream.fragments.list().at(-1);
  if (!meta) throw new AwsError('ResourceNotFoundException', `No fragments found in stream ${stream.name} for this session.`, 404);
  return { contentType: 'video/mp4', parts: await ctx.packager.segment(stream, meta, 'init', s.selector), cacheable: true };
};

async function fragment(ctx: PlaybackContext, s: PlaybackSession, stream: PlaybackStream, query: URLSearchParams, kind: SegmentKind): Promise<Reply> {
  if ((kind === 'ts') !== (s.container === 'MPEG_TS')) throw invalid(`This session uses ${s.container}: fetch ${s.container === 'MPEG_TS' ? 'getTSFragment.ts' : 'getMP4MediaFragment.mp4'} instead.`);
  const number = query.get('FragmentNumber');
  if (!number) throw invalid('FragmentNumber is required.');
  const meta = sessionFragment(stream, s, number);
  return { contentType: kind === 'ts' ? 'video/mp2t' : 'video/mp4', parts: await ctx.packager.segment(stream, meta, kind, s.selector), cacheable: true };
}

/** A fragment of the stream that the session may serve; AWS's errors otherwise. */
function sessionFragment(stream: PlaybackStream, s: PlaybackSession, number: string): FragmentMeta {
  if (!/^[0-9]{1,128}$/.test(number)) throw invalid(`FragmentNumber ${number} is not a fragment number.`);
  const meta = stream.fragments.find(number);
  if (!meta) throw new AwsError('ResourceNotFoundException', `Fragment ${number} was not found in stream ${stream.name}.`, 404);
  if (!fragmentInSession(meta, s)) throw invalid(`Fragment ${number} is outside this session's time range.`);
  return meta;
}
