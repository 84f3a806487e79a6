/**
 * RecordDeAggregation: splits a record that holds several sub-records into
 * one record each, before any other processor runs (AWS's order is
 * de-aggregation, then the Lambda transformation, then partition keys).
 *
 * - `SubRecordType` JSON: consecutive JSON objects, back to back or separated
 *   by whitespace / newlines (`{"a":1}{"a":2}`, JSON Lines). An array of
 *   objects is not a valid input, as on AWS.
 * - `SubRecordType` DELIMITED: split on `Delimiter`, which the API takes
 *   base64-encoded (`IyMjIw==` for `####`).
 *
 * AWS caps de-aggregation at 500 sub-records per record. A record that does
 * not parse, or holds more, goes to the error prefix whole. KPL aggregates
 * from a Kinesis stream source are de-aggregated earlier, when they are
 * copied into staging (stream-source.ts), as Firehose does for stream sources.
 */
import { AwsError } from '../../../sdk/protocol/errors.ts';
import type { ProcessedRecord, ProcessingResult, Processor } from '../processing.ts';

/** AWS Firehose developer guide, multi record deaggregation: at most 500 sub-records per record. */
export const subRecordsPerRecordMax = 500;

/** Error code for a record that cannot be de-aggregated. AWS does not document one; ours names the processor. */
export const deaggregationFailed = { code: 'RecordDeAggregation.Failed', message: 'The record could not be de-aggregated.' } as const;

type Parameters = Array<{ ParameterName: string; ParameterValue: string }> | undefined;

function paramsOf(parameters: Parameters): Record<string, string> {
  return Object.fromEntries((parameters ?? []).map((p) => [p.ParameterName, p.ParameterValue]));
}

/** Checks the parameters at create/update; throws InvalidArgumentException. */
export function checkDeaggregation(parameters: Parameters): void {
  const p = paramsOf(parameters);
  for (const name of Object.keys(p)) {
    if (name !== 'SubRecordType' && name !== 'Delimiter') throw new AwsError('InvalidArgumentException', `Parameter ${name} is not valid for processor type RecordDeAggregation.`);
  }
  const type = p.SubRecordType ?? 'JSON';
  if (type !== 'JSON' && type !== 'DELIMITED') throw new AwsError('InvalidArgumentException', `SubRecordType must be JSON or DELIMITED (got ${type}).`);
  if (type === 'DELIMITED') {
    const d = p.Delimiter;
    if (!d || !/^[A-Za-z0-9+/]+={0,2}$/.test(d) || d.length % 4 !== 0 || Buffer.from(d, 'base64').length === 0) {
      throw new AwsError('InvalidArgumentException', 'Delimiter must be a non-empty base64-encoded string when SubRecordType is DELIMITED.');
    }
  } else if (p.Delimiter !== undefined) throw new AwsError('InvalidArgumentException', 'Delimiter is only valid when SubRecordType is DELIMITED.');
}

/**
 * The byte ranges of consecutive JSON values (objects) in `data`, or
 * undefined when it is not such a sequence. Scans bytes (UTF-8 keeps
 * structural characters single-byte), then parses each slice to be sure.
 */
export function splitJsonObjects(data: Buffer): Buffer[] | undefined {
  const out: Buffer[] = [];
  let i = 0;
  const ws = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
  while (i < data.length) {
    while (i < data.length && ws(data[i]!)) i++;
    if (i >= data.length) break;
    if (data[i] !== 0x7b) return undefined; // '{'
    const start = i;
    let depth = 0;
    let inString = false;
    for (; i < data.length; i++) {
      const c = data[i]!;
      if (inString) {
        if (c === 0x5c) i++;
        else if (c === 0x22) inString = false;
      } else if (c === 0x22) inString = true;
      else if (c === 0x7b || c === 0x5b) depth++;
      else if (c === 0x7d || c === 0x5d) {
        depth--;
        if (depth === 0) break;
      }
    }
    if (depth !== 0) return undefined;
    i++;
    const slice = data.subarray(start, i);
    try {
      JSON.parse(slice.toString('utf8'));
    } catch {
      return undefined;
    }
    out.push(slice);
  }
  return out;
}

export function splitDelimited(data: Buffer, delimiter: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let from = 0;
  for (;;) {
    const at = data.indexOf(delimiter, from);
    if (at < 0) break;
    out.push(data.subarray(from, at));
    from = at + delimiter.length;
  }
  if (from < data.length) out.push(data.subarray(from));
  return out.filter((b) => b.length > 0);
}

export function deaggregationProcessor(parameters: Parameters): Processor {
  const p = paramsOf(parameters);
  const delimiter = p.SubRecordType === 'DELIMITED' ? Buffer.from(p.Delimiter!, 'base64') : undefined;
  return {
    type: 'RecordDeAggregation',
    process(records) {
      const result: ProcessingResult = { ok: [], failed: [] };
      for (const r of records) {
        const parts = delimiter ? splitDelimited(r.data, delimiter) : splitJsonObjects(r.data);
        if (!parts || parts.length > subRecordsPerRecordMax) {
          const why = parts ? `more than ${subRecordsPerRecordMax} sub-records` : 'not consecutive JSON objects';
          result.failed.push({ ...r, errorOutputType: 'processing-failed', errorCode: deaggregationFailed.code, errorMessage: `${deaggregationFailed.message} (${why})` });
          continue;
        }
        for (const data of parts) result.ok.push({ ...r, data: Buffer.from(data) } satisfies ProcessedRecord);
      }
      return result;
    },
  };
}
