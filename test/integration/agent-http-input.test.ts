// Proves the agent's localhost HTTP input answers 200 only once records are durable in the real DiskBuffer (one record per body, or NDJSON lines), with fetch and with `curl -d`, and answers 400, 404, 405, 413 and 503 with clear messages.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { DiskBuffer, type BufferOptions, type BufferedRecord } from '../../agent/buffer/index.ts';
import { HttpInput, parseHttpInputConfig } from '../../agent/inputs/http.ts';

const run = promisify(execFile);
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startAgent(options: BufferOptions = { fsync: 'always' }) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-http-'));
  cleanups.push(() => fs.rmSync(root, { recursive: true, force: true }));
  const telemetry = await DiskBuffer.openDestination(root, 'telemetry', options);
  const logs = await DiskBuffer.openDestination(root, 'logs', options);
  const input = new HttpInput(parseHttpInputConfig({ port: 0, destination: 'telemetry' }), new Map([['telemetry', telemetry], ['logs', logs]]));
  await input.start();
  cleanups.push(async () => {
    await input.stop();
    await telemetry.close();
    await logs.close();
  });
  return { telemetry, logs, input, base: `http://127.0.0.1:${input.port}` };
}

async function readAll(buffer: DiskBuffer): Promise<BufferedRecord[]> {
  const out: BufferedRecord[] = [];
  for (;;) {
    const got = await buffer.peek(10_000, 64 * 1024 * 1024);
    if (got.length === 0) return out;
    out.push(...got);
    await buffer.ack(got.at(-1)!.position);
  }
}

describe('agent HTTP input', () => {
  it('buffers one record per body and answers 200 with the count once it is durable', async () => {
    const a = await startAgent();
    const res = await fetch(`${a.base}/v1/records?partitionKey=dev-1`, { method: 'POST', body: '{"t":21.5}' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ count: 1, destination: 'telemetry', source: 'http', firstSequence: 0 });
    const [r] = await readAll(a.telemetry);
    expect(r).toMatchObject({ source: 'http', partitionKey: 'dev-1', seq: 0 });
    expect(r!.data.toString()).toBe('{"t":21.5}');
  });

  it('buffers NDJSON as one record per non-empty line, to the destination named in the query', async () => {
    const a = await startAgent();
    const body = '{"a":1}\n{"a":2}\r\n\n{"a":3}';
    const res = await fetch(`${a.base}/v1/records?partitionKey=k&destination=logs&explicitHashKey=42`, {
      method: 'POST', headers: { 'Content-Type': 'application/x-ndjson; charset=utf-8' }, body,
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ count: 3, destination: 'logs' });
    const got = await readAll(a.logs);
    expect(got.map((r) => r.data.toString())).toEqual(['{"a":1}', '{"a":2}', '{"a":3}']);
    expect(got[0]!.explicitHashKey).toBe('42');
    expect(await readAll(a.telemetry)).toEqual([]);
  });

  it('works with curl -d', async () => {
    const a = await startAgent();
    const { stdout } = await run('curl', ['-sS', '-d', 'hello from curl', `${a.base}/v1/records?partitionKey=script`]);
    expect(JSON.parse(stdout)).toMatchObject({ count: 1, destination: 'telemetry' });
    const { stdout: bad } = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-d', 'x', `${a.base}/v1/records`]);
    expect(bad).toBe('400');
    const [r] = await readAll(a.telemetry);
    expect(r!.data.toString()).toBe('hello from curl');
  });

  it('answers 400, 404 and 405 with clear messages', async () => {
    const a = await startAgent();
    const post = (q: string, body = 'x') => fetch(`${a.base}/v1/records${q}`, { method: 'POST', body });
    const cases: Array<[Promise<Response>, number, string, string]> = [
      [post(''), 400, 'PARTITION_KEY_INVALID', 'partitionKey'],
      [post(`?partitionKey=${'k'.repeat(257)}`), 400, 'PARTITION_KEY_INVALID', '256'],
      [post('?partitionKey=k&destination=nowhere'), 400, 'AGENT_DESTINATION_UNKNOWN', 'nowhere'],
      [post('?partitionKey=k', ''), 400, 'BODY_EMPTY', 'curl -d'],
      [post('?partitionKey=k&explicitHashKey=abc'), 400, 'BUFFER_RECORD_INVALID', 'explicitHashKey'],
      [fetch(`${a.base}/v1/records?partitionKey=k`), 405, 'METHOD_NOT_ALLOWED', 'POST'],
      [fetch(`${a.base}/elsewhere`, { method: 'POST', body: 'x' }), 404, 'NOT_FOUND', '/v1/records'],
    ];
    for (const [p, status, code, words] of cases) {
      const res = await p;
      expect(res.status).toBe(status);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe(code);
      expect(body.error.message).toContain(words);
    }
    expect(a.input.counters()).toMatchObject({ buffered: 0, refusedRequests: cases.length });
  });

  it('answers 413 for a record over 1 MiB, and for NDJSON lines over 1 MiB', async () => {
    const a = await startAgent();
    const big = Buffer.alloc(1024 * 1024 + 1, 0x61);
    const res = await fetch(`${a.base}/v1/records?partitionKey=k`, { method: 'POST', body: big });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('BODY_TOO_LARGE');
    const nd = await fetch(`${a.base}/v1/records?partitionKey=k`, {
      method: 'POST', headers: { 'Content-Type': 'application/x-ndjson' }, body: Buffer.concat([Buffer.from('ok\n'), big]),
    });
    expect(nd.status).toBe(413);
    expect(((await nd.json()) as { error: { message: string } }).error.message).toContain('line 2');
    // Chunked, no Content-Length: the limit is counted as the body arrives.
    const file = path.join(os.tmpdir(), `agent-http-big-${process.pid}.bin`);
    fs.writeFileSync(file, Buffer.alloc(3 * 1024 * 1024, 0x63));
    cleanups.push(() => fs.rmSync(file, { force: true }));
    const { stdout } = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-H', 'Transfer-Encoding: chunked', '--data-binary', `@${file}`, `${a.base}/v1/records?partitionKey=k`], {
      encoding: 'utf8', timeout: 20_000,
    }).catch((e: { stdout: string }) => e);
    expect(stdout).toBe('413');
    expect(await readAll(a.telemetry)).toEqual([]);
  });

  it('answers 503 when the buffer refuses (reject-newest, full)', async () => {
    const a = await startAgent({ fsync: 'never', segmentBytes: 64 * 1024, capBytes: 1024 * 1024, capPolicy: 'reject-newest' });
    const body = Buffer.alloc(64 * 1024, 0x62);
    let res: Response | undefined;
    for (let i = 0; i < 40; i++) {
      res = await fetch(`${a.base}/v1/records?partitionKey=k`, { method: 'POST', body });
      if (res.status !== 200) break;
      await res.arrayBuffer();
    }
    expect(res!.status).toBe(503);
    expect(res!.headers.get('retry-after')).toBe('5');
    expect(((await res!.json()) as { error: { code: string } }).error.code).toBe('BUFFER_FULL');
  });
});
