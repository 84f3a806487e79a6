/**
 * Lease tables for stream consumers (the KCL's DynamoDB table, kept by the
 * gateway): a small JSON API on the admin service (`Tributary_20261125.*`,
 * signing name `tributary`), documented in docs/leases.md. Writes are
 * conditional on a lease's `LeaseCounter`; a failed condition is a
 * `ConditionalCheckFailedException`, as DynamoDB answers it.
 *
 * State lives in memory and in one metadata document, saved atomically by
 * group commit: a write is checked and applied in memory at once (so
 * conditions see every earlier write) and acknowledged once a save that
 * includes it has finished.
 *
 * Policies name the resource `leasetable/<TableName>`, so an application's
 * credentials can be limited to its own table.
 */
import { AwsError } from '../../sdk/protocol/errors.ts';
import type { StructureShape } from '../http/validate.ts';
import type { MetadataStore } from '../storage/types.ts';

/** Tables per gateway: each is a consuming application. */
export const leaseTablesMax = 1000;
/** Leases per table: one per shard the application has seen (the account shard limit is far below). */
export const leasesPerTableMax = 20_000;
/** ListLeases page size. */
export const listLeasesPageMax = 1000;

interface StoredLease {
  LeaseKey: string;
  LeaseOwner?: string;
  LeaseCounter: number;
  Checkpoint: { SequenceNumber: string; SubSequenceNumber: number };
  ParentShardIds: string[];
}

export interface LeaseTablesDoc {
  version: 1;
  tables: Record<string, { createdMs: number; leases: Record<string, StoredLease> }>;
}

export class LeaseTables {
  private saving: Promise<void> = Promise.resolve();
  private next: Promise<void> | undefined;

  private constructor(
    private readonly store: MetadataStore<LeaseTablesDoc>,
    private readonly doc: LeaseTablesDoc,
    private readonly now: () => number,
  ) {}

  static async open(store: MetadataStore<LeaseTablesDoc>, now: () => number = Date.now): Promise<LeaseTables> {
    const doc = (await store.load()) ?? { version: 1, tables: {} };
    if (doc.version !== 1 || typeof doc.tables !== 'object') throw new Error('lease tables document has an unknown format');
    return new LeaseTables(store, doc, now);
  }

  createTable(name: string): Promise<boolean> {
    if (this.doc.tables[name]) return Promise.resolve(false);
    if (Object.keys(this.doc.tables).length >= leaseTablesMax) throw new AwsError('LimitExceededException', `This gateway already has ${leaseTablesMax} lease tables.`);
    this.doc.tables[name] = { createdMs: this.now(), leases: {} };
    return this.persist().then(() => true);
  }

  deleteTable(name: string): Promise<void> {
    this.table(name);
    delete this.doc.tables[name];
    return this.persist();
  }

  list(name: string, after: string | undefined): { leases: StoredLease[]; next?: string } {
    const keys = Object.keys(this.table(name).leases).sort().filter((k) => after === undefined || k > after);
    const page = keys.slice(0, listLeasesPageMax);
    const leases = page.map((k) => this.table(name).leases[k]!);
    return keys.length > page.length ? { leases, next: page.at(-1)! } : { leases };
  }

  put(name: string, lease: StoredLease, expected: number | undefined): Promise<void> {
    const t = this.table(name);
    const current = t.leases[lease.LeaseKey];
    if (expected === undefined ? current !== undefined : current?.LeaseCounter !== expected) throw conditionFailed();
    if (!current && Object.keys(t.leases).length >= leasesPerTableMax) throw new AwsError('LimitExceededException', `Lease table ${name} already holds ${leasesPerTableMax} leases.`);
    t.leases[lease.LeaseKey] = lease;
    return this.persist();
  }

  delete(name: string, key: string, expected: number): Promise<void> {
    const t = this.table(name);
    if (t.leases[key]?.LeaseCounter !== expected) throw conditionFailed();
    delete t.leases[key];
    return this.persist();
  }

  private table(name: string): LeaseTablesDoc['tables'][string] {
    const t = this.doc.tables[name];
    if (!t) throw new AwsError('ResourceNotFoundException', `Requested resource not found: Table: ${name} not found`);
    return t;
  }

  /** Group commit: one save after the current one covers every change made meanwhile. */
  private persist(): Promise<void> {
    // A failed save fails its own writers; the next save still runs (and carries their changes).
    this.next ??= this.saving.catch(() => undefined).then(() => {
      this.next = undefined;
      const snapshot = structuredClone(this.doc);
      this.saving = this.store.save(snapshot);
      return this.saving;
    });
    return this.next;
  }
}

function conditionFailed(): AwsError {
  // DynamoDB's exact wording.
  return new AwsError('ConditionalCheckFailedException', 'The conditional request failed');
}

const s = (members: StructureShape['members']): StructureShape => ({ type: 'structure', members });
const tableName = { type: 'string', required: true, min: 1, max: 128, pattern: '[a-zA-Z0-9_.-]+' } as const;
const leaseKey = { type: 'string', required: true, min: 1, max: 256 } as const;
const counter = { type: 'long', min: 0, max: Number.MAX_SAFE_INTEGER } as const;
const leaseShape: StructureShape = {
  type: 'structure',
  required: true,
  members: {
    LeaseKey: leaseKey,
    LeaseOwner: { type: 'string', min: 1, max: 256 },
    LeaseCounter: { ...counter, required: true },
    Checkpoint: s({ SequenceNumber: { type: 'string', required: true, min: 1, max: 128 }, SubSequenceNumber: { ...counter } }),
    ParentShardIds: { type: 'list', member: { type: 'string', min: 1, max: 256 }, max: 2 },
  },
};

interface LeaseAction {
  shape: StructureShape;
  handle(tables: LeaseTables, input: Record<string, unknown>): unknown;
}

/** The lease API's actions, mounted on the admin service. */
export const leaseActions: Record<string, LeaseAction> = {
  CreateLeaseTable: {
    shape: s({ TableName: tableName }),
    handle: async (t, input) => ({ TableName: input.TableName, Created: await t.createTable(input.TableName as string) }),
  },
  DeleteLeaseTable: {
    shape: s({ TableName: tableName }),
    handle: async (t, input) => (await t.deleteTable(input.TableName as string), {}),
  },
  ListLeases: {
    shape: s({ TableName: tableName, NextToken: { type: 'string', min: 1, max: 256 } }),
    handle: (t, input) => {
      const { leases, next } = t.list(input.TableName as string, input.NextToken as string | undefined);
      return { Leases: leases, ...(next !== undefined ? { NextToken: next } : {}) };
    },
  },
  PutLease: {
    shape: s({ TableName: tableName, Lease: leaseShape, ExpectedLeaseCounter: counter }),
    handle: async (t, input) => {
      const l = input.Lease as StoredLease;
      const cp = l.Checkpoint ?? { SequenceNumber: 'TRIM_HORIZON', SubSequenceNumber: 0 };
      const lease: StoredLease = {
        LeaseKey: l.LeaseKey,
        ...(l.LeaseOwner !== undefined ? { LeaseOwner: l.LeaseOwner } : {}),
        LeaseCounter: l.LeaseCounter,
        Checkpoint: { SequenceNumber: cp.SequenceNumber, SubSequenceNumber: cp.SubSequenceNumber ?? 0 },
        ParentShardIds: l.ParentShardIds ?? [],
      };
      await t.put(input.TableName as string, lease, input.ExpectedLeaseCounter as number | undefined);
      return {};
    },
  },
  DeleteLease: {
    shape: s({ TableName: tableName, LeaseKey: leaseKey, ExpectedLeaseCounter: { ...counter, required: true } }),
    handle: async (t, input) => (await t.delete(input.TableName as string, input.LeaseKey as string, input.ExpectedLeaseCounter as number), {}),
  },
};

/** The policy resource of a lease action (`leasetable/<name>`), or undefined for other admin actions. */
export function leaseResourceOf(action: string, input: Record<string, unknown>): string | undefined {
  return action in leaseActions ? `leasetable/${String(input.TableName)}` : undefined;
}
