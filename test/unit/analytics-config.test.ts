// The gateway config's analytics section: Lambda ARNs mapped to an HTTP
// endpoint, a local module or (beyond AWS) an MQTT topic, each refused with
// the file, line or entry named when it is ill-formed, and the applications
// cap.
import { describe, expect, it } from 'vitest';
import { parseGatewayConfig } from '../../gateway/config.ts';

const arn = 'arn:aws:lambda:us-east-1:000000000000:function:alerts';

describe('analytics config', () => {
  it('takes url, module and mqtt targets and the applications cap', () => {
    const c = parseGatewayConfig([
      'analytics:',
      '  lambdas:',
      `    "${arn}": { url: "https://alerts.example/kda", timeoutMs: 5000 }`,
      '    "arn:aws:lambda:us-east-1:000000000000:function:clean": { module: /srv/kda/clean.mjs }',
      '    "arn:aws:lambda:us-east-1:000000000000:function:to-mqtt": { mqtt: "mqtt://127.0.0.1:1884", topic: "alerts/{application}", qos: 1 }',
      '  applicationsMax: 7',
    ].join('\n') + '\n', 'g.yaml');
    expect(c.analyticsLambdas).toEqual({
      [arn]: { url: 'https://alerts.example/kda', timeoutMs: 5000 },
      'arn:aws:lambda:us-east-1:000000000000:function:clean': { module: '/srv/kda/clean.mjs' },
      'arn:aws:lambda:us-east-1:000000000000:function:to-mqtt': { mqtt: 'mqtt://127.0.0.1:1884', topic: 'alerts/{application}', qos: 1 },
    });
    expect(c.analyticsApplicationsMax).toBe(7);
  });

  it('refuses ill-formed entries', () => {
    const parse = (entry: string) => () => parseGatewayConfig(`analytics:\n  lambdas:\n    "${arn}": ${entry}\n`, 'g.yaml');
    expect(parse('{ url: "https://x", mqtt: "mqtt://y", topic: t }')).toThrow(`analytics.lambdas["${arn}"] needs exactly one of url, module and mqtt`);
    expect(parse('{ mqtt: "mqtt://y" }')).toThrow(`analytics.lambdas["${arn}"] needs a topic with mqtt`);
    expect(parse('{ url: "https://x", topic: t }')).toThrow('topic and qos go with mqtt only');
    expect(parse('{ mqtt: "tcp://y", topic: t }')).toThrow(/g\.yaml:3: .*mqtt/);
    expect(() => parseGatewayConfig('analytics:\n  lambdas:\n    "not-an-arn": { url: "https://x" }\n', 'g.yaml')).toThrow(/g\.yaml:3: .*Lambda function ARN/);
    expect(() => parseGatewayConfig('analytics:\n  applicationsMax: 0\n', 'g.yaml')).toThrow('g.yaml:2: analytics.applicationsMax must be at least 1 (got 0)');
  });
});
