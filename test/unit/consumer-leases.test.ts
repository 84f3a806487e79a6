/**
 * The lease protocol (take, renew, steal, release, checkpoint fencing) is the
 * same over every lease store: one contract suite runs against the local
 * file store, the gateway's lease tables (a real gateway on port 0, with
 * application credentials under the `consumer` policy) and PostgreSQL (a
 * throwaway cluster this file starts on a spare port and removes after). Clocks are injected, so
 * expiry is exact.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsError } from '../../sdk/protocol/errors.ts';
import { FileLeaseStore } from '../../sdk/streams/leases/file-store.ts';
import { GatewayLeaseStore } from '../../sdk/streams/leases/gateway-store.ts';
import { LeaseCoordinator, LeaseLostError } from '../../sdk/streams/leases/lease-coordinator.ts';
import { PostgresLeaseStore } from '../../sdk/streams/leases/postgres-store.ts';
import { LeaseConflictError, type Lease, type LeaseStore } from '../../sdk/streams/leases/types.ts';
import { tempDir, testGateway } from '../helpers/gateway.ts';
import { startPostgres } from '../helpers/postgres.ts';

const leaseDurationMs = 1000;

function lease(key: string, counter = 0, extra: Partial<Lease> = {}): Lease {
  return { leaseKey: key, leaseCounter: counter, checkpoint: { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 }, parentShardIds: [], ...extra };
}

type StoreFactory = (table: string) => LeaseStore;

function contract(name: string, setup: () => Promise<{ make: StoreFactory; teardown(): Promise<void> }>): void {
  describe(name, () => {
    let make: StoreFactory;
    let teardown: () => Promise<void>;
    const open: LeaseStore[] = [];
    const store = async (table: string): Promise<LeaseStore> => {
      const s = make(table);
      open.push(s);
      await s.ensureTable();
      return s;
    };
    beforeAll(async () => ({ make, teardown } = await setup()));
    afterAll(async () => {
      for (const s of open) await s.close();
      await teardown();
    });

    it('writes conditionally on the lease counter, and on absence', async () => {
      const s = await store(`t-${randomUUID().slice(0, 8)}`);
      await s.ensureTable(); // idempotent
      await s.put(lease('shardId-000000000000'), undefined);
      await expect(s.put(lease('shardId-000000000000'), undefined)).rejects.toBeInstanceOf(LeaseConflictError);
      await expect(s.put(lease('shardId-000000000000', 1), 5)).rejects.toMatchObject({ code: 'LEASE_CONFLICT' });
      await s.put(lease('shardId-000000000000', 1, { leaseOwner: 'w1', parentShardIds: ['shardId-000000000009'], checkpoint: { sequenceNumber: '4960', subSequenceNumber: 3 } }), 0);
      expect(await s.list()).toEqual([lease('shardId-000000000000', 1, { leaseOwner: 'w1', parentShardIds: ['shardId-000000000009'], checkpoint: { sequenceNumber: '4960', subSequenceNumber: 3 } })]);
      await expect(s.delete('shardId-000000000000', 0)).rejects.toBeInstanceOf(LeaseConflictError);
      await s.delete('shardId-000000000000', 1);
      expect(await s.list()).toEqual([]);
    });

    it('keeps tables apart', async () => {
      const a = await store(`a-${randomUUID().slice(0, 8)}`);
      const b = await store(`b-${randomUUID().slice(0, 8)}`);
      await a.put(lease('s1'), undefined);
      expect(await b.list()).toEqual([]);
    });

    it('take, steal, renew, expire, release, and fenced checkpoints', async () => {
      const table = `p-${randomUUID().slice(0, 8)}`;
      const s = await store(table);
      let t = 1_000_000;
      const lost: Record<'A' | 'B', string[]> = { A: [], B: [] };
      const coord = (id: 'A' | 'B', st: LeaseStore) => new LeaseCoordinator(st, { workerId: id, leaseDurationMs, now: () => t, onLost: (k) => lost[id].push(k) });
      for (let i = 0; i < 4; i++) await s.put(lease(`shard-${i}`), undefined);
      const a = coord('A', s);
      const b = coord('B', await store(table));

      // Alone, A takes every free lease.
      expect((await a.take()).sort()).toEqual(['shard-0', 'shard-1', 'shard-2', 'shard-3']);
      // B is below its fair share (2 of 4) and nothing is free: it steals, one lease per pass.
      expect(await b.take()).toHaveLength(1);
      expect(await b.take()).toHaveLength(1);
      expect(await b.take()).toEqual([]);
      expect(b.heldKeys()).toHaveLength(2);
      // A learns of the steals when its renewals fail.
      await a.renewAll();
      expect(lost.A.sort()).toEqual([...b.heldKeys()].sort());
      expect(a.heldKeys()).toHaveLength(2);
      // Balanced: neither steals.
      expect(await a.take()).toEqual([]);

      // A checkpoint on a lease B stole is refused, and B's progress stands.
      const stolen = b.heldKeys()[0]!;
      await b.checkpoint(stolen, { sequenceNumber: '100', subSequenceNumber: 0 });
      await expect(a.checkpoint(stolen, { sequenceNumber: '999', subSequenceNumber: 0 })).rejects.toBeInstanceOf(LeaseLostError);
      expect((await s.list()).find((l) => l.leaseKey === stolen)!.checkpoint.sequenceNumber).toBe('100');

      // A stops renewing (crashed). B sees the counters stand still for a lease duration, then takes them.
      const aHeld = a.heldKeys().sort();
      await b.scan();
      // B renews its own every third of the lease duration meanwhile, as the consumer does.
      const step = async () => {
        t += leaseDurationMs / 3;
        await b.renewAll();
      };
      await step();
      expect(await b.take()).toEqual([]); // not yet expired
      for (let i = 0; i < 3; i++) await step();
      expect((await b.take()).sort()).toEqual(aHeld);
      expect(b.heldKeys()).toHaveLength(4);
      // A's own view: unrenewed past the duration means not held.
      expect(a.heldKeys()).toEqual([]);

      // Graceful release: the lease is free at once, no expiry wait.
      const give = b.heldKeys()[0]!;
      await b.release(give);
      const freed = (await s.list()).find((l) => l.leaseKey === give)!;
      expect(freed.leaseOwner).toBeUndefined();
      const c = new LeaseCoordinator(s, { workerId: 'C', leaseDurationMs, now: () => t });
      expect(await c.take()).toContain(give);

      // Finishing a shard marks SHARD_END and leaves it unowned; nobody takes it again.
      await c.finish(give);
      const ended = (await s.list()).find((l) => l.leaseKey === give)!;
      expect(ended).toMatchObject({ checkpoint: { sequenceNumber: 'SHARD_END' } });
      expect(ended.leaseOwner).toBeUndefined();
      expect(await c.take()).not.toContain(give);
    });

    it('two workers racing for the same free leases never both get one', async () => {
      const table = `r-${randomUUID().slice(0, 8)}`;
      const s1 = await store(table);
      for (let i = 0; i < 8; i++) await s1.put(lease(`shard-${i}`), undefined);
      const ws = await Promise.all(['A', 'B', 'C'].map(async (id) => new LeaseCoordinator(await store(table), { workerId: id, leaseDurationMs: 60_000 })));
      const before = new Map((await s1.list()).map((l) => [l.leaseKey, l.leaseCounter]));
      const taken = (await Promise.all(ws.map((w) => w.take()))).flat();
      // Every successful take is one conditional write, so it moved its lease's counter by exactly one: two
      // workers that both won the same counter (a broken condition) would count two takes for one step.
      const rowsAfterTake = await s1.list();
      const steps = rowsAfterTake.reduce((n, l) => n + l.leaseCounter - before.get(l.leaseKey)!, 0);
      expect(taken.length).toBe(steps);
      // A worker that came last may steal from one that took more than its share (the KCL's balancing); the
      // loser learns it at its next renewal, as in the KCL. After that, no lease is held twice.
      await Promise.all(ws.map((w) => w.renewAll()));
      const held = ws.flatMap((w) => w.heldKeys());
      expect(new Set(held).size).toBe(held.length);
      const rows = await s1.list();
      for (const w of ws) for (const k of w.heldKeys()) expect(rows.find((l) => l.leaseKey === k)!.leaseOwner).toBe(w.workerId);
    });
  });
}

contract('FileLeaseStore', async () => {
  const dir = tempDir('trb-leases-');
  return { make: (table) => new FileLeaseStore(path.join(dir, `${table}.json`)), teardown: async () => undefined };
});

contract('GatewayLeaseStore', async () => {
  const gw = await testGateway({ offloadWorkers: 0 });
  // An application key under the built-in `consumer` policy: no operator rights needed.
  const { principal, secretAccessKey } = await gw.principals.createOperator('billing-app', 'consumer');
  const credentials = { accessKeyId: principal.accessKeyId, secretAccessKey };
  return {
    make: (table) => new GatewayLeaseStore({ endpoint: gw.url, region: 'us-east-1', credentials, table }),
    teardown: () => gw.close(),
  };
});

contract('PostgresLeaseStore', async () => {
  // A throwaway cluster on a spare port (test/helpers/postgres.ts).
  const postgres = await startPostgres();
  const pool = new pg.Pool({ connectionString: postgres.url(), max: 8 });
  return {
    make: (table) => new PostgresLeaseStore({ connection: pool, table }),
    teardown: async () => {
      await pool.end();
      await postgres.stop();
    },
  };
});

describe('gateway lease API authorization', () => {
  it('refuses credentials whose policy lacks the lease actions, and names the lease table resource', async () => {
    const gw = await testGateway({ offloadWorkers: 0 });
    try {
      const { principal, secretAccessKey } = await gw.principals.createOperator('reader-app', 'reader');
      const s = new GatewayLeaseStore({ endpoint: gw.url, region: 'us-east-1', credentials: { accessKeyId: principal.accessKeyId, secretAccessKey }, table: 'billing' });
      const err = await s.ensureTable().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AwsError);
      expect((err as AwsError).type).toBe('AccessDeniedException');
      expect((err as AwsError).message).toContain('tributary:CreateLeaseTable on resource: arn:aws:tributary:us-east-1:000000000000:leasetable/billing');
      await s.close();
    } finally {
      await gw.close();
    }
  });

  it('keeps lease tables across a gateway restart', async () => {
    const dataDir = tempDir('trb-gw-');
    let gw = await testGateway({ offloadWorkers: 0, dataDir });
    const { testOperator } = await import('../helpers/gateway.ts');
    const open = () => new GatewayLeaseStore({ endpoint: gw.url, region: 'us-east-1', credentials: testOperator, table: 'durable' });
    let s = open();
    await s.ensureTable();
    await Promise.all(Array.from({ length: 20 }, (_, i) => s.put(lease(`shard-${String(i).padStart(2, '0')}`, 3), undefined)));
    await s.close();
    await gw.close();
    gw = await testGateway({ offloadWorkers: 0, dataDir });
    try {
      s = open();
      expect((await s.list()).map((l) => l.leaseKey)).toEqual(Array.from({ length: 20 }, (_, i) => `shard-${String(i).padStart(2, '0')}`));
      await s.close();
    } finally {
      await gw.close();
    }
  });

  it('answers a failed condition with ConditionalCheckFailedException', async () => {
    const gw = await testGateway({ offloadWorkers: 0 });
    try {
      const { JsonRpcClient } = await import('../../sdk/http/json-rpc-client.ts');
      const { testOperator } = await import('../helpers/gateway.ts');
      const c = new JsonRpcClient({ endpoint: gw.url, region: 'us-east-1', service: 'tributary', targetPrefix: 'Tributary_20261125', credentials: testOperator });
      await c.call('CreateLeaseTable', { TableName: 'x' });
      const w = { LeaseKey: 'k', LeaseCounter: 1, Checkpoint: { SequenceNumber: 'TRIM_HORIZON', SubSequenceNumber: 0 }, ParentShardIds: [] };
      await c.call('PutLease', { TableName: 'x', Lease: w });
      const err = (await c.call('PutLease', { TableName: 'x', Lease: w, ExpectedLeaseCounter: 7 }).catch((e: unknown) => e)) as AwsError;
      expect(err.toWire()).toEqual({ __type: 'ConditionalCheckFailedException', message: 'The conditional request failed' });
      const missing = (await c.call('ListLeases', { TableName: 'nope' }).catch((e: unknown) => e)) as AwsError;
      expect(missing.type).toBe('ResourceNotFoundException');
      c.close();
    } finally {
      await gw.close();
    }
  });
});
