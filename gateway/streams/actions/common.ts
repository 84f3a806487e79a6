/** Checks several actions share. */
import { AwsError, streamErrors } from '../../../sdk/protocol/errors.ts';
import { shardIdOf, shardIndexOf } from '../../../sdk/protocol/streams/sequence-number.ts';
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

/**
 * A shard id's index, checked before the stream is looked up: AWS reports a
 * malformed id ("Could not find shard <id as written> in stream <name>")
 * even for a stream that does not exist (kinesalite's captures).
 */
export function shardIndexOrThrow(reg: StreamRegistry, input: Record<string, unknown>, shardId: string): number {
  const index = shardIndexOf(shardId);
  if (index === undefined) throw streamErrors.shardNotFound(shardId, streamNameOf(reg, input), reg.accountId);
  return index;
}

/** The stream name a request gives, for messages written before the stream is looked up. */
export function streamNameOf(reg: StreamRegistry, input: Record<string, unknown>): string {
  try {
    return reg.nameOf(input);
  } catch {
    return String(input.StreamName ?? input.StreamARN ?? '');
  }
}

/** The shard at a well-formed index, as "Could not find shard shardId-<12 digits> ..." when it is not there. */
export function findShard(reg: StreamRegistry, rt: StreamRuntime, index: number): ShardRuntime {
  const shard = rt.shard(index);
  if (!shard) throw streamErrors.shardNotFound(shardIdOf(index), rt.meta.name, reg.accountId);
  return shard;
}

/** A shard by the id a request gives, for actions whose stream is already known. */
export function findShardById(reg: StreamRegistry, rt: StreamRuntime, shardId: string): ShardRuntime {
  const index = shardIndexOf(shardId);
  if (index === undefined) throw streamErrors.shardNotFound(shardId, rt.meta.name, reg.accountId);
  return findShard(reg, rt, index);
}

export function onDemandError(reg: StreamRegistry, rt: StreamRuntime): AwsError {
  return new AwsError('ValidationException', `Request is invalid. Stream ${rt.meta.name} under account ${reg.accountId} is in On-Demand mode.`);
}
