// Proves the agent's config validation: the example parses with defaults,
// and every kind of mistake is reported with the file, line and field.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAgentConfig } from '../../agent/config.ts';

const example = fs.readFileSync(path.join(import.meta.dirname, '../../configs/agent.example.yaml'), 'utf8');
const minimal = 'gateway:\n  credentials: /var/lib/tributary/credentials.json\ndestinations:\n  t:\n    stream: telemetry\n';

describe('agent config', () => {
  it('parses the example and fills defaults', () => {
    const c = parseAgentConfig(example, 'agent.yaml');
    expect(c.destinations.telemetry).toMatchObject({ stream: 'telemetry-${device}', aggregate: true, priority: 50 });
    expect(c.inputs.files![0]!.startPattern).toBe('^\\d{4}-\\d{2}-\\d{2}');
    expect(c.buffer.capPolicy).toBe('drop-oldest');
    const m = parseAgentConfig(minimal, 'm.yaml');
    expect(m.state.dir).toBe('/var/lib/tributary');
    // No capBytes or segmentBytes: the agent sizes buffers from the disk's free space at start (issue #15).
    expect(m.buffer).toEqual({ fsync: 'always', capFreePercent: 50, capPolicy: 'drop-oldest', encrypt: false });
    expect(m.uplink.batchRecordsMax).toBe(500);
    expect(Object.isFrozen(m)).toBe(true);
  });

  it('names file, line and field for every mistake', () => {
    const f = 'agent.yaml';
    expect(() => parseAgentConfig(minimal + 'uplink:\n  batchBytesMax: 8388608\n', f)).toThrow('agent.yaml:7: uplink.batchBytesMax must be at most 5242880 (got 8388608)');
    expect(() => parseAgentConfig(minimal + 'buffer:\n  maxBytes: 10\n', f)).toThrow('agent.yaml:7: unknown key buffer.maxBytes; it is now buffer.capBytes');
    expect(() => parseAgentConfig(minimal + 'buffer:\n  capPolicy: drop-newest\n', f)).toThrow('agent.yaml:7: buffer.capPolicy must be one of drop-oldest, reject-newest (got "drop-newest")');
    expect(() => parseAgentConfig(minimal + 'buffer:\n  fsync: sometimes\n', f)).toThrow('agent.yaml:7: buffer.fsync must be always, never or interval:<ms> (got "sometimes")');
    expect(() => parseAgentConfig('destinations: {}\n', f)).toThrow('agent.yaml:1: gateway is required');
    expect(() => parseAgentConfig(minimal + 'inputs:\n  files:\n    - paths: [relative.log]\n      destination: t\n', f)).toThrow('agent.yaml:8: inputs.files[0].paths[0] must be an absolute path; * and ? in the file name (got "relative.log")');
    expect(() => parseAgentConfig(minimal + 'inputs:\n  mqtt:\n    rules:\n      - filter: a/#\n        destination: nope\n', f)).toThrow(
      'agent.yaml: inputs.mqtt.rules[0].destination names destination "nope", which is not defined (destinations: t)',
    );
    expect(() => parseAgentConfig(minimal + 'state:\n  dir: /run/tributary\n', f)).toThrow(
      'agent.yaml: state.dir /run/tributary is on volatile storage (under /run, which does not survive a reboot); buffers, checkpoints and keys must outlive it (use /var/lib/tributary); for tests and demos, set state.volatile: true',
    );
    // On purpose (tests, demos): allowed, and the agent warns at start.
    expect(parseAgentConfig(minimal + 'state:\n  dir: /run/tributary\n  volatile: true\n', f).state).toEqual({ dir: '/run/tributary', volatile: true });
    expect(() => parseAgentConfig(minimal + 'inputs:\n  files:\n    - paths: [/x]\n      destination: t\n      startPattern: "(("\n', f)).toThrow(/^agent\.yaml:10: inputs\.files\[0\]\.startPattern is not a regular expression/);
    // Issue #15: files spread by a line hash unless order: per-file, which a hash would break.
    expect(() => parseAgentConfig(minimal + 'inputs:\n  files:\n    - paths: [/x]\n      destination: t\n      order: per-line\n', f)).toThrow('agent.yaml:10: inputs.files[0].order must be one of per-file, none (got "per-line")');
    expect(() => parseAgentConfig(minimal + 'inputs:\n  files:\n    - paths: [/x]\n      destination: t\n      order: per-file\n      partitionKey: { hash: true }\n', f)).toThrow(
      "agent.yaml: inputs.files[0].partitionKey: hash spreads a file's lines over shards, which order: per-file forbids (use fileName or fixed)",
    );
    expect(parseAgentConfig(minimal + 'inputs:\n  files:\n    - paths: [/x]\n      destination: t\n      order: per-file\n', f).inputs.files![0]!.order).toBe('per-file');
    expect(() => parseAgentConfig(minimal + 'oops: 1\n', f)).toThrow('agent.yaml:6: unknown key oops; known keys: gateway, state, buffer, destinations, inputs, uplink, metrics, log');
  });
});
