/** TagResource, UntagResource, ListTagsForResource: tags of an application named by its ARN. */
import { analyticsErrors } from '../../../../sdk/protocol/analytics/errors.ts';
import { userTagsPerApplicationMax } from '../../../../sdk/protocol/analytics/limits.ts';
import type { AnalyticsAction, AnalyticsContext } from '../context.ts';
import { nameOfArn, type ApplicationMeta } from '../model.ts';
import { KinesisAnalyticsARN, required, requestShape, TagKeys, Tags } from '../shapes.ts';

/** Tags as a map; a key given twice keeps its last value, as AWS does. */
export function tagsFrom(wire: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of (wire as Array<{ Key: string; Value?: string }> | undefined) ?? []) out[t.Key] = t.Value ?? '';
  return out;
}

export function checkTagCount(tags: Record<string, string>): void {
  // System tags (aws:...) are not the user's to set and do not count against the user's 50.
  if (Object.keys(tags).some((k) => k.startsWith('aws:'))) throw analyticsErrors.invalid('Tag keys starting with aws: are reserved for system tags.');
  if (Object.keys(tags).length > userTagsPerApplicationMax) throw analyticsErrors.tooManyTags(userTagsPerApplicationMax);
}

function byArn({ registry }: AnalyticsContext, arn: string): ApplicationMeta {
  const name = nameOfArn(arn, registry.region, registry.accountId);
  const app = name !== undefined ? registry.apps.get(name) : undefined;
  if (!app) throw analyticsErrors.arnNotFound(arn);
  return app;
}

export const tagResource: AnalyticsAction = {
  shape: requestShape({ ResourceARN: required(KinesisAnalyticsARN), Tags: required(Tags) }),
  async handle(ctx, input) {
    const app = byArn(ctx, input.ResourceARN as string);
    const next = { ...app.tags, ...tagsFrom(input.Tags) };
    checkTagCount(next);
    app.tags = next;
    await ctx.registry.persist();
    return {};
  },
};

export const untagResource: AnalyticsAction = {
  shape: requestShape({ ResourceARN: required(KinesisAnalyticsARN), TagKeys: required(TagKeys) }),
  async handle(ctx, input) {
    const app = byArn(ctx, input.ResourceARN as string);
    for (const k of input.TagKeys as string[]) delete app.tags[k];
    await ctx.registry.persist();
    return {};
  },
};

export const listTagsForResource: AnalyticsAction = {
  shape: requestShape({ ResourceARN: required(KinesisAnalyticsARN) }),
  handle(ctx, input) {
    const app = byArn(ctx, input.ResourceARN as string);
    return { Tags: Object.entries(app.tags).map(([Key, Value]) => ({ Key, Value })) };
  },
};
