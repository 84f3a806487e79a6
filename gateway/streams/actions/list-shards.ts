import { AwsError, streamErrors } from '../../../sdk/protocol/errors.ts';
import * as limits from '../../../sdk/protocol/streams/limits.ts';
import { shardIndexOf } from '../../../sdk/protocol/streams/sequence-number.ts';
import type { ShardRuntime, StreamRuntime } from '../model.ts';
import { ShardId, StreamARN, StreamId, StreamName, structure, type StreamsAction } from '../shapes.ts';

interface ListShardsToken {
  v: 1;
  stream: string;
  createdMs: number;
  afterIndex: number;
  issuedMs: number;
  max: number;
  filter?: { Type: string; ShardId?: string; Timestamp?: number };
}

const filterTypes = ['AFTER_SHARD_ID', 'AT_TRIM_HORIZON', 'FROM_TRIM_HORIZON', 'AT_LATEST', 'AT_TIMESTAMP', 'FROM_TIMESTAMP'] as const;

export const listShards: StreamsAction = {
  shape: structure({
    ExclusiveStartShardId: ShardId,
    MaxResults: { type: 'integer', min: 1, max: limits.listLimitMax },
    NextToken: { type: 'string', min: 1, max: 1048576 },
    StreamCreationTimestamp: { type: 'timestamp' },
    StreamName,
    ShardFilter: {
      type: 'structure',
      members: { Type: { type: 'string', required: true, enum: filterTypes }, ShardId, Timestamp: { type: 'timestamp' } },
    },
    StreamARN,
    StreamId,
  }),
  handle({ registry }, input) {
    const now = registry.now();
    let token: ListShardsToken;
    if (input.NextToken !== undefined) {
      if (input.StreamName !== undefined || input.StreamARN !== undefined) {
        throw new AwsError('InvalidArgumentException', 'NextToken and StreamName cannot be provided together.');
      }
      if (input.ExclusiveStartShardId !== undefined || input.StreamCreationTimestamp !== undefined) {
        throw new AwsError('InvalidArgumentException', 'NextToken cannot be provided together with ExclusiveStartShardId or StreamCreationTimestamp.');
      }
      token = decodeToken(input.NextToken as string);
      if (now - token.issuedMs > limits.listShardsNextTokenTtlMs) {
        throw new AwsError('ExpiredNextTokenException', 'The requested token has expired.');
      }
      if (input.MaxResults !== undefined) token.max = input.MaxResults as number;
    } else {
      if (input.StreamName === undefined && input.StreamARN === undefined) {
        throw new AwsError('InvalidArgumentException', 'Either NextToken or StreamName should be provided.');
      }
      const rt = registry.resolve(input);
      const filter = input.ShardFilter as ListShardsToken['filter'];
      if (filter?.Type === 'AFTER_SHARD_ID' && filter.ShardId === undefined) {
        throw new AwsError('InvalidArgumentException', 'ShardId must be specified when the ShardFilter type is AFTER_SHARD_ID.');
      }
      if ((filter?.Type === 'AT_TIMESTAMP' || filter?.Type === 'FROM_TIMESTAMP') && filter.Timestamp === undefined) {
        throw new AwsError('InvalidArgumentException', `Timestamp must be specified when the ShardFilter type is ${filter.Type}.`);
      }
      const start = input.ExclusiveStartShardId as string | undefined;
      token = {
        v: 1,
        stream: rt.meta.name,
        createdMs: rt.meta.createdMs,
        afterIndex: start !== undefined ? shardIndexOf(start) ?? -1 : -1,
        issuedMs: now,
        max: (input.MaxResults as number | undefined) ?? limits.listShardsMaxResultsDefault,
        ...(filter ? { filter } : {}),
      };
    }
    const rt = registry.resolve({ StreamName: token.stream });
    if (rt.meta.createdMs !== token.createdMs) throw streamErrors.notFound(token.stream, registry.accountId);
    const shards = applyFilter(rt, token, now).filter((s) => s.meta.index > token.afterIndex);
    const page = shards.slice(0, token.max);
    const more = shards.length > token.max;
    return {
      Shards: page.map((s) => s.describe()),
      NextToken: more ? encodeToken({ ...token, afterIndex: page.at(-1)!.meta.index, issuedMs: now }) : undefined,
    };
  },
};

function applyFilter(rt: StreamRuntime, token: ListShardsToken, now: number): ShardRuntime[] {
  const f = token.filter;
  const all = rt.shards;
  switch (f?.Type) {
    case undefined:
    case 'FROM_TRIM_HORIZON':
      return all;
    case 'AFTER_SHARD_ID': {
      const after = shardIndexOf(f.ShardId!) ?? -1;
      return all.filter((s) => s.meta.index > after);
    }
    case 'AT_LATEST':
      return all.filter((s) => s.open);
    case 'AT_TRIM_HORIZON': {
      // Shards open at the trim horizon: those whose parents have aged out (or never existed).
      const present = new Set(all.map((s) => s.meta.index));
      return all.filter((s) => (s.meta.parentIndex === undefined || !present.has(s.meta.parentIndex)) &&
        (s.meta.adjacentParentIndex === undefined || !present.has(s.meta.adjacentParentIndex)));
    }
    case 'AT_TIMESTAMP': {
      const ts = f.Timestamp!;
      return all.filter((s) => s.meta.createdMs <= ts && (s.open || s.meta.closedMs! >= ts));
    }
    case 'FROM_TIMESTAMP': {
      // Corrected to the trim horizon when earlier than it (API Reference, ShardFilter).
      const ts = Math.max(f.Timestamp!, now - rt.meta.retentionHours * 3600_000);
      return all.filter((s) => s.open || s.meta.closedMs! >= ts);
    }
    default:
      return all;
  }
}

function encodeToken(t: ListShardsToken): string {
  return Buffer.from(JSON.stringify(t), 'utf8').toString('base64url');
}

function decodeToken(text: string): ListShardsToken {
  try {
    const t = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as ListShardsToken;
    // Tokens are not authenticated, so check every field the handler relies on: a forged one is invalid, not a crash.
    const f = t.filter;
    const filterOk = f === undefined || (typeof f === 'object' && f !== null && (filterTypes as readonly string[]).includes(f.Type) &&
      (f.Type !== 'AFTER_SHARD_ID' || typeof f.ShardId === 'string') && (!f.Type.endsWith('TIMESTAMP') || Number.isFinite(f.Timestamp)));
    if (t.v === 1 && typeof t.stream === 'string' && Number.isFinite(t.issuedMs) && Number.isFinite(t.createdMs) && Number.isInteger(t.afterIndex) &&
      Number.isInteger(t.max) && t.max >= 1 && t.max <= limits.listLimitMax && filterOk) return t;
  } catch {
    // Falls through to the error below.
  }
  throw new AwsError('InvalidArgumentException', 'Invalid NextToken.');
}
