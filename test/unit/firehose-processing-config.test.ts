// The gateway config's `firehose.lambdas` (Lambda ARN -> HTTP transformer or
// local module): accepted forms, and refusals that name the file, line and
// field like every other config error.
import { describe, expect, it } from 'vitest';
import { parseGatewayConfig } from '../../gateway/config.ts';

const arn = 'arn:aws:lambda:us-east-1:000000000000:function:enrich';

describe('firehose.lambdas', () => {
  it('maps ARNs to a URL or a module', () => {
    const c = parseGatewayConfig(
      `firehose:\n  lambdas:\n    "${arn}": { url: "http://127.0.0.1:9000/t", timeoutMs: 5000 }\n    "${arn}:live": { module: /srv/t.mjs }\n`,
      'gw.yaml',
    );
    expect(c.firehoseLambdas).toEqual({ [arn]: { url: 'http://127.0.0.1:9000/t', timeoutMs: 5000 }, [`${arn}:live`]: { module: '/srv/t.mjs' } });
  });

  const refused: Array<[string, RegExp]> = [
    [`firehose:\n  lambdas:\n    "${arn}": { url: "http://x/", module: /a.mjs }\n`, /needs exactly one of url and module/],
    [`firehose:\n  lambdas:\n    "${arn}": {}\n`, /needs exactly one of url and module/],
    [`firehose:\n  lambdas:\n    "not-an-arn": { url: "http://x/" }\n`, /gw.yaml:3: .*Lambda function ARN/],
    [`firehose:\n  lambdas:\n    "${arn}": { url: "ftp://x/" }\n`, /gw.yaml:3: .*http:\/\/ or https:\/\/ URL/],
    [`firehose:\n  lambdas:\n    "${arn}": { url: "http://x/", retries: 3 }\n`, /gw.yaml:3: .*retries/],
  ];
  for (const [text, message] of refused) it(`refuses ${JSON.stringify(text.split('\n')[2])}`, () => expect(() => parseGatewayConfig(text, 'gw.yaml')).toThrow(message));
});
