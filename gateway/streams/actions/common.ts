/** Checks several actions share. */
import { AwsError, streamErrors } from '../../../sdk/protocol/errors.ts';
import { shardIndexOf } from '../../../sdk/protocol/streams/sequence-number.ts';
import type { ShardRuntime, StreamRuntime } from '../model.ts';
import type { StreamRegistry } from '../registry.ts';

/** Control-plane changes need an ACTIVE stream. */
export function requireActive(reg: StreamRegistry, rt: StreamRuntime): void {
  if (rt.meta.status !== 'ACTIVE') throw streamErrors.notActive(rt.meta.name, reg.accountId, rt.meta.status);
}

/** Data-plane calls work while ACTIVE or UPDATING; kinesalite records AWS answering "not found" otherwise. */
export function requireWritable(reg: StreamRegistry, rt: StreamRuntime): void {
  if (rt.meta.status !== 'ACTIVE' && rt.meta.status !== 'UPDATING') throw streamErrors.notFound(rt.meta.name, reg.accountId);
}

/** The shard a request names, as "Could not find shard ..." when it is not there. */
export function findShard(reg: StreamRegistry, rt: StreamRuntime, shardId: string): ShardRuntime {
  const index = shardIndexOf(shardId);
  const shard = index === undefined ? undefined : rt.shard(index);
  if (!shard) throw streamErrors.shardNotFound(shardId, rt.meta.name, reg.accountId);
  return shard;
}

export function onDemandError(reg: StreamRegistry, rt: StreamRuntime): AwsError {
  return new AwsError('ValidationException', `Request is invalid. Stream ${rt.meta.name} under account ${reg.accountId} is in On-Demand mode.`);
}
