/**
 * Kinesis Video Streams on the front door: the REST-JSON actions by path
 * (control plane here; media and archived-media actions are added by their
 * modules through `extraActions`), the policy resource of each call
 * (`videostream/<name>`), and InvalidArgumentException for bad input.
 */
import type http from 'node:http';
import type { RestAction, RestService } from '../http/rest.ts';
import type { StructureShape } from '../http/validate.ts';
import * as createStream from './actions/create-stream.ts';
import * as deleteStream from './actions/delete-stream.ts';
import * as describeStream from './actions/describe-stream.ts';
import * as getDataEndpoint from './actions/get-data-endpoint.ts';
import * as listStreams from './actions/list-streams.ts';
import * as listTagsForResource from './actions/list-tags-for-resource.ts';
import * as listTagsForStream from './actions/list-tags-for-stream.ts';
import * as tagResource from './actions/tag-resource.ts';
import * as tagStream from './actions/tag-stream.ts';
import * as untagResource from './actions/untag-resource.ts';
import * as untagStream from './actions/untag-stream.ts';
import * as updateDataRetention from './actions/update-data-retention.ts';
import * as updateStream from './actions/update-stream.ts';
import * as getMediaForFragmentList from './archive/get-media-for-fragment-list.ts';
import * as listFragments from './archive/list-fragments.ts';
import { putMediaAction } from './ingest/put-media.ts';
import { getMediaAction } from './media/get-media.ts';
import type { VideoCall, VideoContext } from './shapes.ts';
import { videoErrors } from '../../sdk/protocol/errors.ts';
import { controlPlaneRequestsPerSecondMax } from '../../sdk/protocol/video/limits.ts';
import { CallRate, clientLimitMessage } from './call-rate.ts';

export const videoSigningName = 'kinesisvideo';

interface ActionModule {
  shape: StructureShape;
  handle(ctx: VideoContext, input: Record<string, unknown>, call: VideoCall): unknown;
}

/** Control-plane actions by path, as @aws-sdk/client-kinesis-video sends them. */
const controlPlane: Record<string, [string, ActionModule]> = {
  '/createStream': ['CreateStream', createStream],
  '/describeStream': ['DescribeStream', describeStream],
  '/listStreams': ['ListStreams', listStreams],
  '/deleteStream': ['DeleteStream', deleteStream],
  '/updateStream': ['UpdateStream', updateStream],
  '/updateDataRetention': ['UpdateDataRetention', updateDataRetention],
  '/getDataEndpoint': ['GetDataEndpoint', getDataEndpoint],
  '/tagStream': ['TagStream', tagStream],
  '/untagStream': ['UntagStream', untagStream],
  '/listTagsForStream': ['ListTagsForStream', listTagsForStream],
  '/TagResource': ['TagResource', tagResource],
  '/UntagResource': ['UntagResource', untagResource],
  '/ListTagsForResource': ['ListTagsForResource', listTagsForResource],
  // Archived media (the others are playback's: gateway/video/playback).
  '/listFragments': ['ListFragments', listFragments],
  '/getMediaForFragmentList': ['GetMediaForFragmentList', getMediaForFragmentList],
};

/** The Host a request reached and whether it came over TLS (for URLs handed back to the client). */
export function reachedAs(req: http.IncomingMessage): { host?: string; secure: boolean } {
  const host = req.headers.host ?? req.headers[':authority'];
  return { ...(typeof host === 'string' ? { host } : {}), secure: Boolean((req.socket as { encrypted?: boolean }).encrypted) };
}

/** A JSON action of this service from an action module; `rate` applies the control plane's quotas when given. */
export function videoAction(ctx: VideoContext, name: string, mod: ActionModule, rate?: CallRate): RestAction {
  const quota = controlPlaneRequestsPerSecondMax[name];
  return {
    name,
    shape: mod.shape,
    handle: ({ input, caller, req }) => {
      if (rate && quota) {
        // The account-level quota first, then the stream's (a call counts against both, as AWS words it).
        const stream = videoResourceOf(name, input);
        const admitted = rate.admit(`${name}`, quota.account) && (quota.stream === undefined || stream === '*' || rate.admit(`${name} ${stream}`, quota.stream));
        if (!admitted) throw videoErrors.clientLimit(clientLimitMessage);
      }
      return mod.handle(ctx, input, { caller, ...reachedAs(req) });
    },
  };
}

/** The stream a call names, for policies: by name, by ARN, or `*` for account-level calls. */
export function videoResourceOf(_action: string, input: Record<string, unknown>): string {
  const name = input.StreamName ?? /stream\/([^/]+)\/\d+$/.exec(String(input.StreamARN ?? input.ResourceARN ?? ''))?.[1];
  return typeof name === 'string' ? `videostream/${name}` : '*';
}

export function videoService(ctx: VideoContext, extraActions: Record<string, RestAction> = {}): RestService {
  const actions: Record<string, RestAction> = {};
  const rate = new CallRate(ctx.registry.now);
  for (const [path, [name, mod]] of Object.entries(controlPlane)) actions[path] = videoAction(ctx, name, mod, rate);
  actions['/putMedia'] = putMediaAction(ctx.registry);
  actions['/getMedia'] = getMediaAction(ctx.registry);
  for (const [path, action] of Object.entries(extraActions)) {
    if (actions[path]) throw new Error(`two video actions on ${path}`);
    actions[path] = action;
  }
  return { signingName: videoSigningName, iamPrefix: 'kinesisvideo', actions, resourceOf: videoResourceOf, validationErrorType: 'InvalidArgumentException' };
}
