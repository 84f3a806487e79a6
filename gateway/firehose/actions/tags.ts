/** TagDeliveryStream, UntagDeliveryStream and ListTagsForDeliveryStream. */
import { AwsError } from '../../../sdk/protocol/errors.ts';
import { firehoseErrors } from '../../../sdk/protocol/firehose/errors.ts';
import * as limits from '../../../sdk/protocol/firehose/limits.ts';
import { DeliveryStreamName, structure, TagKey, TagList, type FirehoseAction } from '../shapes.ts';

/** The Tag API's character set: letters, digits, white space and _ . : / = + - @. */
const allowed = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

export function checkTags(tags: Array<{ Key: string; Value?: string }>): void {
  for (const t of tags) {
    if (!allowed.test(t.Key) || !allowed.test(t.Value ?? '') || t.Key.startsWith('aws:')) {
      throw new AwsError('InvalidArgumentException', `Tag ${t.Key} contains characters that are not allowed, or starts with the reserved prefix aws:.`);
    }
  }
}

export const tagDeliveryStream: FirehoseAction = {
  shape: structure({ DeliveryStreamName: { ...DeliveryStreamName, required: true }, Tags: { ...TagList, required: true } }),
  async handle({ registry }, input) {
    const rt = registry.resolve(input);
    const tags = input.Tags as Array<{ Key: string; Value?: string }>;
    checkTags(tags);
    const merged = { ...rt.meta.tags, ...Object.fromEntries(tags.map((t) => [t.Key, t.Value ?? ''])) };
    if (Object.keys(merged).length > limits.tagsPerDeliveryStreamMax) throw firehoseErrors.tooManyTags(rt.meta.name, limits.tagsPerDeliveryStreamMax);
    rt.meta.tags = merged;
    await registry.persist();
    return {};
  },
};

export const untagDeliveryStream: FirehoseAction = {
  shape: structure({
    DeliveryStreamName: { ...DeliveryStreamName, required: true },
    TagKeys: { type: 'list', required: true, min: 1, max: limits.tagsPerCallMax, member: TagKey },
  }),
  async handle({ registry }, input) {
    const rt = registry.resolve(input);
    for (const k of input.TagKeys as string[]) delete rt.meta.tags[k];
    await registry.persist();
    return {};
  },
};

export const listTagsForDeliveryStream: FirehoseAction = {
  shape: structure({
    DeliveryStreamName: { ...DeliveryStreamName, required: true },
    ExclusiveStartTagKey: TagKey,
    Limit: { type: 'integer', min: 1, max: limits.listTagsLimitMax },
  }),
  handle({ registry }, input) {
    const rt = registry.resolve(input);
    const limit = (input.Limit as number | undefined) ?? limits.listTagsLimitMax;
    const after = input.ExclusiveStartTagKey as string | undefined;
    const keys = Object.keys(rt.meta.tags).sort().filter((k) => after === undefined || k > after);
    return { Tags: keys.slice(0, limit).map((k) => ({ Key: k, Value: rt.meta.tags[k] })), HasMoreTags: keys.length > limit };
  },
};
