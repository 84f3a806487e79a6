/** Binds the runtime's engine port (engine-port.ts) to the SQL engine (gateway/analytics/engine.ts). */
import { compileApplication } from '../engine.ts';
import type { SqlEngine } from './engine-port.ts';

export const sqlEngine: SqlEngine = {
  compile(code, inputs, references) {
    const app = compileApplication(code, {
      inputs: inputs.map((i) => ({ NamePrefix: i.NamePrefix, InputSchema: i.InputSchema, InputParallelism: i.InputParallelism })),
      references: references.map((r) => ({ TableName: r.meta.TableName, ReferenceSchema: r.meta.ReferenceSchema, data: r.data })),
    });
    return {
      push(prefix, records, rowtime) {
        for (const r of records) {
          app.pushRecord(prefix, { Data: r.data, ApproximateArrivalTimestamp: r.arrivalMs, PartitionKey: r.partitionKey, SequenceNumber: r.sequenceNumber }, { rowtime });
        }
      },
      reject(prefix, r, error, rowtime) {
        app.reportRecordError(prefix, { Data: r.data, ApproximateArrivalTimestamp: r.arrivalMs, PartitionKey: r.partitionKey, SequenceNumber: r.sequenceNumber }, error, rowtime);
      },
      advance: (t) => app.advance(t),
      hasStream: (name) => app.hasStream(name),
      subscribe(stream, format, onRecord) {
        return app.subscribe(stream, format === 'JSON' ? (row) => onRecord(Buffer.from(JSON.stringify(app.toJson(row)))) : (row) => onRecord(Buffer.from(app.toCsv(row) + '\n')));
      },
    };
  },
};
