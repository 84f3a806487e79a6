/**
 * `firehose.lambdas` in the gateway config: Lambda ARN -> the transformer
 * that stands in for it (processors/lambda.ts).
 *
 *   firehose:
 *     lambdas:
 *       "arn:aws:lambda:us-east-1:000000000000:function:enrich": { url: "http://127.0.0.1:9000/" }
 *       "arn:aws:lambda:us-east-1:000000000000:function:local": { module: /srv/transformers/local.mjs, timeoutMs: 5000 }
 */
import { ConfigError, type Schema } from '../../../sdk/config/yaml-schema.ts';
import { lambdaInvokeTimeoutMsMax, type LambdaTarget } from './lambda.ts';

/** AWS Lambda function ARNs (optionally with a version or alias qualifier). */
export const lambdaArnPattern = /^arn:[\w-]+:lambda:[a-z0-9-]+:\d{12}:function:[\w-]+(:[\w$-]+)?$/;

export const lambdasSchema: Schema = {
  kind: 'map',
  keyPattern: lambdaArnPattern,
  keyHint: 'a Lambda function ARN (arn:aws:lambda:<region>:<account>:function:<name>)',
  value: {
    kind: 'object',
    fields: {
      url: { kind: 'string', pattern: /^https?:\/\/\S+$/, hint: 'an http:// or https:// URL' },
      module: { kind: 'string', pattern: /\.(mjs|js)$/, hint: 'a path to an ES module (.mjs or .js)' },
      timeoutMs: { kind: 'integer', min: 1, max: lambdaInvokeTimeoutMsMax },
    },
  },
};

/** Each entry needs exactly one of `url` and `module`. */
export function checkLambdaTargets(v: Record<string, { url?: string; module?: string; timeoutMs?: number }>): Record<string, LambdaTarget> {
  const out: Record<string, LambdaTarget> = {};
  for (const [arn, t] of Object.entries(v)) {
    if ((t.url === undefined) === (t.module === undefined)) throw new ConfigError(`firehose.lambdas["${arn}"] needs exactly one of url and module`);
    const timeout = t.timeoutMs !== undefined ? { timeoutMs: t.timeoutMs } : {};
    out[arn] = t.url !== undefined ? { url: t.url, ...timeout } : { module: t.module!, ...timeout };
  }
  return out;
}
