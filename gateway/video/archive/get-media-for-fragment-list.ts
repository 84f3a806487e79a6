/**
 * GetMediaForFragmentList (POST /getMediaForFragmentList, archived media):
 * the media of up to 1000 fragments by number, in the order asked, as MKV
 * chunks (chunks.ts). A number the stream does not hold (never stored, or
 * gone with retention) gives, in its place, the error tags AWS documents
 * (AWS_KINESISVIDEO_FRAGMENT_NUMBER, AWS_KINESISVIDEO_EXCEPTION_ERROR_CODE,
 * AWS_KINESISVIDEO_EXCEPTION_MESSAGE); code 4000 as in GetMedia's table,
 * 5000 for one the store cannot read back (a damaged disk).
 */
import * as limits from '../../../sdk/protocol/video/limits.ts';
import type { RestStream } from '../../http/rest.ts';
import type { StructureShape } from '../../http/validate.ts';
import { errorChunk, fragmentListChunk } from '../media/chunks.ts';
import * as s from '../shapes.ts';

export const shape: StructureShape = {
  type: 'structure',
  members: {
    StreamName: s.streamName,
    StreamARN: s.streamArn,
    Fragments: { type: 'list', required: true, min: 1, max: limits.fragmentListMax, member: { type: 'string', min: 1, max: limits.fragmentNumberLengthMax, pattern: '^[0-9]+$' } },
  },
};

export async function handle(ctx: s.VideoContext, input: Record<string, unknown>): Promise<RestStream> {
  const stream = ctx.registry.resolve(input);
  const numbers = input.Fragments as string[];
  let cancelled = false;
  async function* body(): AsyncGenerator<Uint8Array> {
    for (const n of numbers) {
      if (cancelled) return;
      let media: Awaited<ReturnType<typeof stream.fragments.read>>;
      try {
        media = await stream.fragments.read(n);
      } catch (err) {
        // A fragment the store cannot give back (a damaged disk): its error tags, then the others.
        ctx.registry.o.log.error('GetMediaForFragmentList could not read a fragment', { stream: stream.name, fragment: n, err: String(err) });
        yield errorChunk([
          { name: 'AWS_KINESISVIDEO_FRAGMENT_NUMBER', value: n },
          { name: 'AWS_KINESISVIDEO_EXCEPTION_ERROR_CODE', value: '5000' },
          { name: 'AWS_KINESISVIDEO_EXCEPTION_MESSAGE', value: 'Internal error' },
        ]);
        continue;
      }
      if (media) {
        const chunk = fragmentListChunk(media);
        yield chunk;
        ctx.registry.metrics.fragmentListOutgoingBytes.inc({ stream: stream.name }, chunk.length);
        ctx.registry.metrics.fragmentListOutgoingFragments.inc({ stream: stream.name });
      } else {
        yield errorChunk([
          { name: 'AWS_KINESISVIDEO_FRAGMENT_NUMBER', value: n },
          { name: 'AWS_KINESISVIDEO_EXCEPTION_ERROR_CODE', value: '4000' },
          { name: 'AWS_KINESISVIDEO_EXCEPTION_MESSAGE', value: 'Requested fragment is not found' },
        ]);
      }
    }
  }
  return { contentType: 'video/webm', body: body(), cancel: () => (cancelled = true) };
}
