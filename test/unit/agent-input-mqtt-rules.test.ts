// Proves the MQTT input's pure parts: topic filter matching per MQTT 5.0 section 4.7, partition key extraction with its fallback, config parsing that refuses typos and bad filters, and the reconnect backoff's bounds.
import { describe, expect, it } from 'vitest';
import { backoffMs, clampPartitionKey } from '../../agent/inputs/common.ts';
import { mqttUrlDefault, parseMqttInputConfig } from '../../agent/inputs/mqtt.ts';
import { extractPartitionKey, findRule, topicMatches, parseRule } from '../../agent/inputs/mqtt-rules.ts';

describe('MQTT topic filters', () => {
  it.each([
    ['sensors/+/temp', 'sensors/a/temp', true],
    ['sensors/+/temp', 'sensors/a/b/temp', false],
    ['sensors/+/temp', 'sensors//temp', true],
    ['sensors/#', 'sensors', true],
    ['sensors/#', 'sensors/a/b', true],
    ['sensors/#', 'sensorsx/a', false],
    ['#', 'a/b', true],
    ['#', '$SYS/broker/load', false],
    ['+/broker/load', '$SYS/broker/load', false],
    ['$SYS/#', '$SYS/broker/load', true],
    ['a/b', 'a/b/c', false],
    ['a/b/c', 'a/b', false],
  ])('%s matches %s: %s', (filter, topic, want) => {
    expect(topicMatches(filter, topic)).toBe(want);
  });

  it('takes the first matching rule in config order', () => {
    const rules = [
      parseRule('r0', { filter: 'a/+', destination: 'one', partitionKey: { fixed: 'x' } }),
      parseRule('r1', { filter: 'a/#', destination: 'two', partitionKey: { fixed: 'x' } }),
    ];
    expect(findRule(rules, 'a/b')?.destination).toBe('one');
    expect(findRule(rules, 'a/b/c')?.destination).toBe('two');
    expect(findRule(rules, 'b')).toBeUndefined();
  });
});

describe('MQTT partition keys', () => {
  const json = (v: unknown) => Buffer.from(JSON.stringify(v));
  it('reads a topic level, a JSON field (dotted, numbers as text) or a fixed key', () => {
    expect(extractPartitionKey({ topicLevel: 1 }, 'sensors/dev-1/temp', Buffer.alloc(0))).toBe('dev-1');
    expect(extractPartitionKey({ jsonField: 'deviceId' }, 't', json({ deviceId: 'pi-1' }))).toBe('pi-1');
    expect(extractPartitionKey({ jsonField: 'd.id' }, 't', json({ d: { id: 42 } }))).toBe('42');
    expect(extractPartitionKey({ fixed: 'x' }, 't', Buffer.alloc(0))).toBe('x');
  });

  it('hashes the payload when asked (issue #15): 8 hex digits, the same payload the same key', () => {
    const a = extractPartitionKey({ hash: true }, 't', json({ t: 21.5 }));
    expect(a).toMatch(/^[0-9a-f]{8}$/);
    expect(extractPartitionKey({ hash: true }, 'other/topic', json({ t: 21.5 }))).toBe(a);
    expect(extractPartitionKey({ hash: true }, 't', json({ t: 21.6 }))).not.toBe(a);
    expect(parseMqttInputConfig({ rules: [{ filter: 'a/#', destination: 'x', partitionKey: { hash: true } }] }).rules[0]!.partitionKey).toEqual({ hash: true });
  });

  it('finds nothing for a missing level, an empty level, a missing field, a non-string field or a non-JSON payload', () => {
    expect(extractPartitionKey({ topicLevel: 5 }, 'a/b', Buffer.alloc(0))).toBeUndefined();
    expect(extractPartitionKey({ topicLevel: 1 }, 'a//c', Buffer.alloc(0))).toBeUndefined();
    expect(extractPartitionKey({ jsonField: 'deviceId' }, 't', json({ other: 1 }))).toBeUndefined();
    expect(extractPartitionKey({ jsonField: 'deviceId' }, 't', json({ deviceId: { a: 1 } }))).toBeUndefined();
    expect(extractPartitionKey({ jsonField: 'deviceId' }, 't', json({ deviceId: '' }))).toBeUndefined();
    expect(extractPartitionKey({ jsonField: 'deviceId' }, 't', Buffer.from('{nope'))).toBeUndefined();
  });

  it('cuts long keys to 256 characters without splitting a surrogate pair', () => {
    expect(clampPartitionKey('a'.repeat(300))).toHaveLength(256);
    expect(clampPartitionKey('a'.repeat(255) + '😀')).toBe('a'.repeat(255));
  });
});

describe('MQTT input config', () => {
  const rule = { filter: 's/+/t', destination: 'telemetry', partitionKey: { topicLevel: 1 } };
  it('fills defaults and freezes the result', () => {
    const c = parseMqttInputConfig({ clientId: 'dev-1', rules: [rule] });
    // The default names the device's own broker; nothing connects here.
    expect(new URL(mqttUrlDefault)).toMatchObject({ protocol: 'mqtt:', hostname: '127.0.0.1' });
    expect(c).toMatchObject({ url: mqttUrlDefault, clientId: 'dev-1', keepaliveSec: 30, reconnectMinMs: 500, reconnectMaxMs: 30_000 });
    expect(c.rules[0]!.source).toBe('mqtt:s/+/t');
    expect(Object.isFrozen(c) && Object.isFrozen(c.rules[0])).toBe(true);
  });

  it('uses the topic as the key when a rule names none', () => {
    const c = parseMqttInputConfig({ rules: [{ filter: 'a/#', destination: 'telemetry' }] });
    expect(c.rules[0]!.partitionKey).toEqual({ topic: true });
    expect(extractPartitionKey(c.rules[0]!.partitionKey, 'a/b/c', Buffer.alloc(0))).toBe('a/b/c');
  });

  it.each([
    [{ rules: [rule], urll: 'x' }, 'inputs.mqtt: unknown key urll'],
    [{ rules: [] }, 'inputs.mqtt.rules: must be a non-empty list'],
    [{ rules: [{ ...rule, filter: 's/#/t' }] }, 'inputs.mqtt.rules[0].filter: "#" must be a whole last level'],
    [{ rules: [{ ...rule, filter: 's/a+/t' }] }, 'inputs.mqtt.rules[0].filter: "+" must be a whole level'],
    [{ rules: [{ ...rule, destination: '../etc' }] }, 'inputs.mqtt.rules[0].destination: must match'],
    [{ rules: [{ ...rule, partitionKey: { topicLevel: 1, fixed: 'x' } }] }, 'exactly one of topic, topicLevel, jsonField, fixed, hash'],
    [{ rules: [{ ...rule, partitionKey: 'x' }] }, 'inputs.mqtt.rules[0].partitionKey: must be an object'],
    [{ rules: [{ ...rule, partitionKey: { topic: false } }] }, 'inputs.mqtt.rules[0].partitionKey.topic: must be true'],
    [{ rules: [{ ...rule, filter: 'x'.repeat(260) }] }, 'longer than 255 bytes'],
    [{ rules: [rule], keepaliveSec: 0 }, 'inputs.mqtt.keepaliveSec: must be an integer from 1 to 65535 (got 0)'],
    [{ rules: [rule], reconnectMinMs: 1000, reconnectMaxMs: 10 }, 'inputs.mqtt.reconnectMaxMs: must be an integer from 1000'],
  ])('refuses %j', (raw, message) => {
    expect(() => parseMqttInputConfig(raw)).toThrow(message);
    try {
      parseMqttInputConfig(raw);
    } catch (e) {
      expect((e as { code?: string }).code).toBe('INPUT_CONFIG_INVALID');
    }
  });
});

describe('reconnect backoff', () => {
  it('doubles from the minimum, caps at the maximum, and jitters within half', () => {
    expect([0, 1, 2, 3].map((a) => backoffMs(a, 100, 1000, () => 1))).toEqual([100, 200, 400, 800]);
    expect(backoffMs(50, 100, 1000, () => 1)).toBe(1000);
    expect(backoffMs(3, 100, 1000, () => 0)).toBe(400);
  });
});
