/**
 * `analytics.lambdas` in the gateway config: Lambda ARN -> what stands in for
 * the function. There is no Lambda here; an input preprocessor or a
 * LambdaOutput names a function by ARN and the gateway maps it:
 *
 *   analytics:
 *     lambdas:
 *       "arn:aws:lambda:us-east-1:000000000000:function:alerts": { url: "https://alerts.example/kda" }
 *       "arn:aws:lambda:us-east-1:000000000000:function:clean": { module: /srv/kda/clean.mjs }
 *       "arn:aws:lambda:us-east-1:000000000000:function:to-mqtt": { mqtt: "mqtt://127.0.0.1:1883", topic: "alerts/{application}" }
 *
 * `url` and `module` speak the Lambda contracts (preprocessing: Firehose's
 * transformation contract, which KDA shares; output: KDA's delivery
 * contract). `mqtt` is beyond AWS and only for outputs: each row is
 * published as one message to `topic` ({application} and {stream} are
 * replaced). ARNs not listed here fall back to `firehose.lambdas`.
 */
import { ConfigError, type Schema } from '../../../sdk/config/yaml-schema.ts';
import { lambdaInvokeTimeoutMsMax, type LambdaTarget } from '../../firehose/processors/lambda.ts';
import { lambdaArnPattern } from '../../firehose/processors/lambda-config.ts';

export interface MqttTarget {
  mqtt: string;
  topic: string;
  qos?: 0 | 1 | 2;
  username?: string;
  password?: string;
}

export type AnalyticsLambdaTarget = LambdaTarget | MqttTarget;

export const analyticsLambdasSchema: Schema = {
  kind: 'map',
  keyPattern: lambdaArnPattern,
  keyHint: 'a Lambda function ARN (arn:aws:lambda:<region>:<account>:function:<name>)',
  value: {
    kind: 'object',
    fields: {
      url: { kind: 'string', pattern: /^https?:\/\/\S+$/, hint: 'an http:// or https:// URL' },
      module: { kind: 'string', pattern: /\.(mjs|js)$/, hint: 'a path to an ES module (.mjs or .js)' },
      timeoutMs: { kind: 'integer', min: 1, max: lambdaInvokeTimeoutMsMax },
      mqtt: { kind: 'string', pattern: /^(mqtts?|wss?):\/\/\S+$/, hint: 'an mqtt://, mqtts://, ws:// or wss:// broker URL' },
      topic: { kind: 'string', pattern: /^[^#+\s][^#+\s]*$/, hint: 'an MQTT topic without wildcards' },
      qos: { kind: 'integer', min: 0, max: 2 },
      username: { kind: 'string' },
      password: { kind: 'string' },
    },
  },
};

type Raw = { url?: string; module?: string; timeoutMs?: number; mqtt?: string; topic?: string; qos?: number; username?: string; password?: string };

/** Each entry is exactly one of `url`, `module` and `mqtt` (with `topic`). */
export function checkAnalyticsLambdas(v: Record<string, Raw>): Record<string, AnalyticsLambdaTarget> {
  const out: Record<string, AnalyticsLambdaTarget> = {};
  for (const [arn, t] of Object.entries(v)) {
    const kinds = [t.url, t.module, t.mqtt].filter((x) => x !== undefined).length;
    if (kinds !== 1) throw new ConfigError(`analytics.lambdas["${arn}"] needs exactly one of url, module and mqtt`);
    if (t.mqtt !== undefined) {
      if (t.topic === undefined) throw new ConfigError(`analytics.lambdas["${arn}"] needs a topic with mqtt`);
      out[arn] = { mqtt: t.mqtt, topic: t.topic, ...(t.qos !== undefined ? { qos: t.qos as 0 | 1 | 2 } : {}), ...(t.username !== undefined ? { username: t.username } : {}), ...(t.password !== undefined ? { password: t.password } : {}) };
      continue;
    }
    if (t.topic !== undefined || t.qos !== undefined) throw new ConfigError(`analytics.lambdas["${arn}"]: topic and qos go with mqtt only`);
    const timeout = t.timeoutMs !== undefined ? { timeoutMs: t.timeoutMs } : {};
    out[arn] = t.url !== undefined ? { url: t.url, ...timeout } : { module: t.module!, ...timeout };
  }
  return out;
}

export function isMqtt(t: AnalyticsLambdaTarget): t is MqttTarget {
  return 'mqtt' in t;
}
