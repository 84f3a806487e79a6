/** The Data Streams side of KinesisStreamAsSource: the stream registry seen as a SourceStreams. */
import type { StreamRegistry } from '../streams/registry.ts';
import { openRecord } from '../streams/encryption.ts';
import { incarnationOf } from '../streams/model.ts';
import { sourceReadBytesMax, sourceReadRecordsMax, type SourceStreams } from './stream-source.ts';

export function streamSources(registry: StreamRegistry): SourceStreams {
  return {
    shardsOf(name) {
      const rt = registry.find(name);
      if (!rt || rt.meta.status === 'CREATING' || rt.meta.status === 'DELETING') return undefined;
      return {
        incarnation: incarnationOf(rt.meta),
        shards: rt.shards.map((s) => ({
          index: s.meta.index,
          nextCounter: s.log.durableCounter,
          shared: s.log.shared === true,
          read: (from: number) => s.log.read(from, { limit: sourceReadRecordsMax, bytesMax: sourceReadBytesMax, arrivalMsMin: 0 }),
        })),
      };
    },
    open(name, record) {
      if (!record.flags) return record.data;
      return openRecord(registry.cipher, registry.find(name)?.meta.keyIds ?? [], record).data;
    },
  };
}
