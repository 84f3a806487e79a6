/**
 * `storage.nats` of gateway.yaml: where the JetStream cluster is and how to
 * authenticate, and how many replicas each shard log and the metadata keep.
 */
export interface NatsStorageConfig {
  /** Client URLs of the cluster's servers (`nats://host:port`, `tls://host:port`). */
  servers: string[];
  /** A NATS credentials file (user JWT and nkey seed), as `nsc` writes it. */
  credentials?: string;
  user?: string;
  password?: string;
  token?: string;
  /** PEM files: the CA that signed the servers' certificates, and a client certificate and key for mutual TLS. */
  tls?: { ca?: string; cert?: string; key?: string };
  /** JetStream replicas of every shard log and of the metadata bucket (1, 3 or 5; default 3). */
  replicas: number;
  /** JetStream stream and KV bucket names start with this, so several gateways' data can share a cluster (default `TRB`). */
  prefix: string;
  /** Leases of background jobs (one process runs each): another process takes a job over this long after its holder stopped renewing (default 10 s). */
  leaseMs?: number;
}

export const natsReplicasDefault = 3;
export const natsPrefixDefault = 'TRB';
