/**
 * The console's session action (gateway/console/sessions.ts): long-term keys
 * buy one-hour session credentials that a stock AWS SDK client can use, which
 * act with the parent's policy, cannot mint further sessions, and stop
 * working when revoked (one by one, or with their parent principal).
 */
import { CreateStreamCommand, ListStreamsCommand } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../gateway/gateway.ts';
import { JsonRpcClient } from '../../sdk/http/json-rpc-client.ts';
import { kinesisClient, testGateway, testOperator } from '../helpers/gateway.ts';

type Creds = { accessKeyId: string; secretAccessKey: string };
type SessionOut = { Credentials: { AccessKeyId: string; SecretAccessKey: string; SessionToken: string; Expiration: number }; Principal: { Name: string; Kind: string } };

describe('console sessions (GetSessionToken)', () => {
  let gw: Gateway;
  const clients: JsonRpcClient[] = [];
  const admin = (credentials: Creds) => {
    const c = new JsonRpcClient({ endpoint: gw.url, region: 'us-east-1', service: 'tributary', targetPrefix: 'Tributary_20261125', credentials });
    clients.push(c);
    return c;
  };
  const session = async (creds: Creds = testOperator, input: Record<string, unknown> = {}) => {
    const out = await admin(creds).call<SessionOut>('GetSessionToken', input);
    return { out, creds: { accessKeyId: out.Credentials.AccessKeyId, secretAccessKey: out.Credentials.SecretAccessKey } };
  };
  const denied = async (p: Promise<unknown>) => {
    const err = await p.then(() => undefined, (e: unknown) => e as { name?: string; code?: string; message?: string });
    expect(err, 'the call should have failed').toBeDefined();
    return err!;
  };

  beforeAll(async () => {
    gw = await testGateway();
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await gw.close();
  });

  it('issues credentials valid for one hour that a stock SDK client can use', async () => {
    const before = Date.now();
    const { out, creds } = await session();
    expect(out.Credentials.AccessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(out.Credentials.SecretAccessKey).not.toBe(testOperator.secretAccessKey);
    expect(out.Credentials.SessionToken.length).toBeGreaterThan(20);
    const expiresMs = out.Credentials.Expiration * 1000;
    expect(expiresMs).toBeGreaterThanOrEqual(before + 3600_000 - 2000);
    expect(expiresMs).toBeLessThanOrEqual(Date.now() + 3600_000 + 2000);
    expect(out.Principal).toEqual({ Name: 'operator', Kind: 'operator' });

    const k = kinesisClient(gw.url, creds);
    await k.send(new CreateStreamCommand({ StreamName: 'console-session', ShardCount: 1 }));
    expect((await k.send(new ListStreamsCommand({}))).StreamNames).toContain('console-session');
    k.destroy();
  });

  it('refuses durations outside 900..3600 s and sessions minted from sessions', async () => {
    const tooLong = await denied(admin(testOperator).call('GetSessionToken', { DurationSeconds: 7200 }));
    expect(String((tooLong as { message?: string }).message)).toMatch(/DurationSeconds|3600/);
    const { creds } = await session(testOperator, { DurationSeconds: 900 });
    const chained = await denied(admin(creds).call('GetSessionToken', {}));
    expect(String((chained as { message?: string }).message)).toContain('Cannot call GetSessionToken with session credentials');
  });

  it('stops working at once when revoked (RevokeSession), and others stay valid', async () => {
    const a = await session();
    const b = await session();
    await admin(a.creds).call('RevokeSession', {});
    const k = kinesisClient(gw.url, a.creds);
    const err = await denied(k.send(new ListStreamsCommand({})));
    expect(err.name).toBe('UnrecognizedClientException');
    k.destroy();
    const kb = kinesisClient(gw.url, b.creds);
    await kb.send(new ListStreamsCommand({}));
    // An operator revokes another session by its key id; unknown ids are ResourceNotFound.
    await admin(testOperator).call('RevokeSession', { AccessKeyId: b.out.Credentials.AccessKeyId });
    expect((await denied(kb.send(new ListStreamsCommand({})))).name).toBe('UnrecognizedClientException');
    kb.destroy();
    const missing = await denied(admin(testOperator).call('RevokeSession', { AccessKeyId: b.out.Credentials.AccessKeyId }));
    expect(String((missing as { name?: string; code?: string }).name ?? (missing as { code?: string }).code)).toContain('ResourceNotFound');
  });

  it('acts with the parent policy, and ends with its parent principal', async () => {
    // A console-only viewer: may sign in and list, nothing else.
    const document = JSON.stringify({ statements: [{ actions: ['tributary:GetSessionToken', 'kinesis:List*'], resources: ['*'] }] });
    await admin(testOperator).call('PutPolicy', { Name: 'console-viewer', Document: document });
    const created = await admin(testOperator).call<{ Principal: { AccessKeyId: string }; SecretAccessKey: string }>('CreateOperator', { Name: 'viewer', Policy: 'console-viewer' });
    const parent = { accessKeyId: created.Principal.AccessKeyId, secretAccessKey: created.SecretAccessKey };
    const { out, creds } = await session(parent);
    expect(out.Principal.Name).toBe('viewer');
    const k = kinesisClient(gw.url, creds);
    await k.send(new ListStreamsCommand({}));
    expect((await denied(k.send(new CreateStreamCommand({ StreamName: 'not-allowed', ShardCount: 1 })))).name).toBe('AccessDeniedException');
    await admin(testOperator).call('RevokePrincipal', { Id: parent.accessKeyId });
    expect((await denied(k.send(new ListStreamsCommand({})))).name).toBe('UnrecognizedClientException');
    k.destroy();
  });
});
