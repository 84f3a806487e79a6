/** AddTagsToStream, RemoveTagsFromStream and ListTagsForStream. */
import { AwsError } from '../../../sdk/protocol/errors.ts';
import * as limits from '../../../sdk/protocol/streams/limits.ts';
import { streamTarget, structure, TagKey, TagMap, type StreamsAction } from '../shapes.ts';

/**
 * Tag characters as AWS judged them in kinesalite's captures: first the
 * character set (letters, digits, space and `_ . / = + - % @`; a tab, a
 * newline, `;` or `,` fails), then `%`, which passes the first check but is
 * refused with a second, differently worded message. `:` is allowed as
 * today's AWS documents (the captures predate it; see docs/streams.md).
 */
const tagCharacters = /^[\p{L}\p{M}\p{N}_.:/=+\-@% ]*$/u;

function checkCharacters(verb: 'add' | 'remove', stream: string, account: string, keys: string[], values: string[]): void {
  const all = [...keys, ...values];
  if (!all.every((s) => tagCharacters.test(s))) {
    throw new AwsError('InvalidArgumentException', 'Some tags contain invalid characters. Valid characters: Unicode letters, digits, white space, _ . / = + - % @.');
  }
  if (all.some((s) => s.includes('%'))) {
    throw new AwsError(
      'InvalidArgumentException',
      `Failed to ${verb} tags ${verb === 'add' ? 'to' : 'from'} stream ${stream} under account ${account} because some tags contained illegal characters. ` +
        "The allowed characters are Unicode letters, white-spaces, '_',',','/','=','+','-','@'.",
    );
  }
}

export const addTagsToStream: StreamsAction = {
  shape: structure({ Tags: { ...TagMap, required: true }, ...streamTarget }),
  async handle({ registry }, input) {
    const rt = registry.resolve(input);
    const tags = input.Tags as Record<string, string>;
    checkCharacters('add', rt.meta.name, registry.accountId, Object.keys(tags), Object.values(tags));
    const merged = { ...rt.meta.tags, ...tags };
    if (Object.keys(merged).length > limits.tagsPerStreamMax) {
      throw new AwsError('InvalidArgumentException', `Failed to add tags to stream ${rt.meta.name} under account ${registry.accountId} because a given stream cannot have more than ${limits.tagsPerStreamMax} tags associated with it.`);
    }
    rt.meta.tags = merged;
    await registry.persist();
    return undefined;
  },
};

export const removeTagsFromStream: StreamsAction = {
  shape: structure({ TagKeys: { type: 'list', required: true, min: 1, max: 50, member: TagKey }, ...streamTarget }),
  async handle({ registry }, input) {
    const rt = registry.resolve(input);
    const keys = input.TagKeys as string[];
    checkCharacters('remove', rt.meta.name, registry.accountId, keys, []);
    for (const k of keys) delete rt.meta.tags[k];
    await registry.persist();
    return undefined;
  },
};

export const listTagsForStream: StreamsAction = {
  shape: structure({
    Limit: { type: 'integer', min: 1, max: limits.listTagsLimitMax },
    ExclusiveStartTagKey: TagKey,
    ...streamTarget,
  }),
  handle({ registry }, input) {
    const rt = registry.resolve(input);
    const limit = (input.Limit as number | undefined) ?? limits.listTagsLimitMax;
    const after = input.ExclusiveStartTagKey as string | undefined;
    const keys = Object.keys(rt.meta.tags).sort().filter((k) => after === undefined || k > after);
    return {
      Tags: keys.slice(0, limit).map((k) => ({ Key: k, Value: rt.meta.tags[k] })),
      HasMoreTags: keys.length > limit,
    };
  },
};
