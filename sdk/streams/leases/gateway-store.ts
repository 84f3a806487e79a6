/**
 * A lease table kept by the gateway itself (its metadata store), reached
 * through the gateway's lease API (`Tributary_20261125.PutLease` and
 * friends, documented in docs/leases.md). Any number of workers on any
 * machines share it; they need credentials whose policy grants the
 * `tributary:*Lease*` actions (the built-in `consumer` policy does).
 */
import { JsonRpcClient, type Credentials } from '../../http/json-rpc-client.ts';
import { AwsError } from '../../protocol/errors.ts';
import { assertLease, LeaseConflictError, leaseTableNamePattern, type Lease, type LeaseStore } from './types.ts';

/** The gateway admin API's target prefix and SigV4 signing name. */
export const leaseApiTargetPrefix = 'Tributary_20261125';
export const leaseApiSigningName = 'tributary';

export interface GatewayLeaseStoreOptions {
  endpoint: string;
  region: string;
  credentials: Credentials;
  /** The lease table: one per consuming application (KCL's application name). */
  table: string;
  ca?: string;
  cert?: string;
  key?: string;
  timeoutMs?: number;
}

/** The lease as the API carries it: PascalCase, like the rest of the gateway's wire. */
export interface WireLease {
  LeaseKey: string;
  LeaseOwner?: string;
  LeaseCounter: number;
  Checkpoint: { SequenceNumber: string; SubSequenceNumber: number };
  ParentShardIds: string[];
}

export function leaseToWire(l: Lease): WireLease {
  return {
    LeaseKey: l.leaseKey,
    ...(l.leaseOwner !== undefined ? { LeaseOwner: l.leaseOwner } : {}),
    LeaseCounter: l.leaseCounter,
    Checkpoint: { SequenceNumber: l.checkpoint.sequenceNumber, SubSequenceNumber: l.checkpoint.subSequenceNumber },
    ParentShardIds: [...l.parentShardIds],
  };
}

export function leaseFromWire(w: WireLease): Lease {
  return {
    leaseKey: w.LeaseKey,
    ...(w.LeaseOwner !== undefined ? { leaseOwner: w.LeaseOwner } : {}),
    leaseCounter: w.LeaseCounter,
    checkpoint: { sequenceNumber: w.Checkpoint.SequenceNumber, subSequenceNumber: w.Checkpoint.SubSequenceNumber ?? 0 },
    parentShardIds: w.ParentShardIds ?? [],
  };
}

/**
 * @example
 * const leases = new GatewayLeaseStore({ endpoint, region: 'us-east-1', credentials, ca, table: 'billing-app' });
 * const consumer = new StreamConsumer({ endpoint, region: 'us-east-1', credentials, ca, stream: 'telemetry', leases, handler });
 */
export class GatewayLeaseStore implements LeaseStore {
  private readonly client: JsonRpcClient;
  readonly table: string;

  constructor(o: GatewayLeaseStoreOptions) {
    if (!leaseTableNamePattern.test(o.table)) throw new TypeError(`lease table names are 1-128 of [a-zA-Z0-9_.-] (got ${JSON.stringify(o.table)})`);
    this.table = o.table;
    this.client = new JsonRpcClient({
      endpoint: o.endpoint,
      region: o.region,
      service: leaseApiSigningName,
      targetPrefix: leaseApiTargetPrefix,
      credentials: o.credentials,
      ...(o.ca ? { ca: o.ca } : {}),
      ...(o.cert ? { cert: o.cert, key: o.key } : {}),
      timeoutMs: o.timeoutMs ?? 10_000,
    });
  }

  async ensureTable(): Promise<void> {
    await this.client.call('CreateLeaseTable', { TableName: this.table });
  }

  async list(): Promise<Lease[]> {
    const leases: Lease[] = [];
    let token: string | undefined;
    // Bounded: the gateway caps a table's size, and each page is non-empty when a token is given.
    for (let page = 0; page < 10_000; page++) {
      const out = await this.client.call<{ Leases: WireLease[]; NextToken?: string }>('ListLeases', { TableName: this.table, ...(token ? { NextToken: token } : {}) });
      leases.push(...out.Leases.map(leaseFromWire));
      token = out.NextToken;
      if (!token) return leases;
    }
    throw new Error(`ListLeases on ${this.table} did not finish`);
  }

  async put(lease: Lease, expectedCounter: number | undefined): Promise<void> {
    assertLease(lease);
    await this.conditional(lease.leaseKey, () =>
      this.client.call('PutLease', { TableName: this.table, Lease: leaseToWire(lease), ...(expectedCounter !== undefined ? { ExpectedLeaseCounter: expectedCounter } : {}) }),
    );
  }

  async delete(leaseKey: string, expectedCounter: number): Promise<void> {
    await this.conditional(leaseKey, () => this.client.call('DeleteLease', { TableName: this.table, LeaseKey: leaseKey, ExpectedLeaseCounter: expectedCounter }));
  }

  /** Deletes the whole table (tests, decommissioning an application). */
  async deleteTable(): Promise<void> {
    await this.client.call('DeleteLeaseTable', { TableName: this.table });
  }

  async close(): Promise<void> {
    this.client.close();
  }

  private async conditional(leaseKey: string, f: () => Promise<unknown>): Promise<void> {
    try {
      await f();
    } catch (err) {
      if (err instanceof AwsError && err.type === 'ConditionalCheckFailedException') throw new LeaseConflictError(leaseKey, { cause: err });
      throw err;
    }
  }
}
