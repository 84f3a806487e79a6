/**
 * MetadataExtraction: the partition keys of dynamic partitioning, extracted
 * from each JSON record by a jq query (`MetadataExtractionQuery`, an object
 * construction such as `{device: .device, day: .ts | strftime("%Y-%m-%d")}`;
 * `JsonParsingEngine` JQ-1.6, the one AWS offers). The subset of jq this
 * gateway evaluates is in jq.ts; a query outside it is refused at create.
 *
 * Each key's value becomes a string (numbers and booleans as JSON writes
 * them). A record that is not JSON, a query that fails on it, or a key whose
 * value is null, missing, an object or an array sends the record to the
 * error prefix (`partitioning-failed`), as AWS routes records whose keys it
 * cannot extract.
 */
import { AwsError } from '../../../sdk/protocol/errors.ts';
import { compileJq, JqRuntimeError, JqSyntaxError, type JqQuery, type JqValue } from '../jq.ts';
import type { ProcessingResult, Processor } from '../processing.ts';

/** Error code for a record whose partition keys cannot be extracted. AWS's own code is not documented; ours names the feature. */
export const metadataExtractionFailed = 'DynamicPartitioning.MetadataExtractionFailed';

type Parameters = Array<{ ParameterName: string; ParameterValue: string }> | undefined;

function paramsOf(parameters: Parameters): Record<string, string> {
  return Object.fromEntries((parameters ?? []).map((p) => [p.ParameterName, p.ParameterValue]));
}

/** Compiles the query (throwing InvalidArgumentException for anything outside the subset); returns the partition key names. */
export function checkMetadataExtraction(parameters: Parameters): readonly string[] {
  const p = paramsOf(parameters);
  for (const name of Object.keys(p)) {
    if (name !== 'MetadataExtractionQuery' && name !== 'JsonParsingEngine') throw new AwsError('InvalidArgumentException', `Parameter ${name} is not valid for processor type MetadataExtraction.`);
  }
  if (p.JsonParsingEngine !== undefined && p.JsonParsingEngine !== 'JQ-1.6') {
    throw new AwsError('InvalidArgumentException', `JsonParsingEngine must be JQ-1.6 (got ${p.JsonParsingEngine}).`);
  }
  const source = p.MetadataExtractionQuery;
  if (!source) throw new AwsError('InvalidArgumentException', 'MetadataExtractionQuery is required for the MetadataExtraction processor.');
  let q: JqQuery;
  try {
    q = compileJq(source);
  } catch (err) {
    if (err instanceof JqSyntaxError) throw new AwsError('InvalidArgumentException', `MetadataExtractionQuery is not supported: ${err.message}`);
    throw err;
  }
  if (!q.objectKeys?.length) throw new AwsError('InvalidArgumentException', 'MetadataExtractionQuery must construct an object of partition keys, such as {device: .device}.');
  return q.objectKeys;
}

/** Stringifies one extracted value; undefined when it cannot be a partition key. */
function keyValue(v: JqValue | undefined): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return JSON.stringify(v);
  return undefined;
}

export function metadataExtractionProcessor(parameters: Parameters): Processor {
  const query = compileJq(paramsOf(parameters).MetadataExtractionQuery!);
  const keys = query.objectKeys!;
  return {
    type: 'MetadataExtraction',
    process(records) {
      const result: ProcessingResult = { ok: [], failed: [] };
      for (const r of records) {
        let error: string | undefined;
        const extracted: Record<string, string> = {};
        try {
          const out = query.evaluate(JSON.parse(r.data.toString('utf8')) as JqValue) as Record<string, JqValue>;
          for (const k of keys) {
            const v = keyValue(out[k]);
            if (v === undefined) {
              error = `partition key ${k} evaluated to ${JSON.stringify(out[k] ?? null)}, not a string, number or boolean`;
              break;
            }
            extracted[k] = v;
          }
        } catch (err) {
          if (err instanceof SyntaxError) error = 'the record is not valid JSON';
          else if (err instanceof JqRuntimeError) error = `the query failed: ${err.message}`;
          else throw err;
        }
        if (error) result.failed.push({ ...r, errorOutputType: 'partitioning-failed', errorCode: metadataExtractionFailed, errorMessage: `Non JSON record or failed to extract partition keys: ${error}` });
        else result.ok.push({ ...r, partitionKeys: { ...r.partitionKeys, query: extracted } });
      }
      return result;
    },
  };
}
