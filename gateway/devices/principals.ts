/**
 * Principals (operators and paired devices), their access keys, pairing
 * codes and custom policies, persisted in the metadata store. Secrets are
 * kept sealed under the gateway's master key; pairing codes only as hashes.
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { TributaryError } from '../../sdk/protocol/errors.ts';
import type { MetadataStore } from '../storage/types.ts';
import type { RecordCipher } from '../streams/encryption.ts';
import { builtInPolicies, deviceNamesOverlap, type Policy } from './policies.ts';

export interface Principal {
  accessKeyId: string;
  /** The secret access key, sealed with the master key (base64). */
  secretSealed: string;
  kind: 'operator' | 'device';
  name: string;
  policy: string;
  createdMs: number;
  /** Devices: their id and ed25519 public key (base64). */
  deviceId?: string;
  publicKey?: string;
  revokedMs?: number;
  /** Superseded keys (after a rotation) stop working at once. */
  supersededMs?: number;
  /**
   * Fingerprints (`SHA256:AB:...`) of the client certificates issued to this
   * principal (mutual TLS). A certificate is good only while its principal is
   * active, and only for requests that principal signs; a rotation carries
   * them over to the new key.
   */
  certificates?: string[];
}

export interface PairingCode {
  /** SHA-256 of the normalised code: the code itself is never stored. */
  codeHash: string;
  name: string;
  policy: string;
  createdMs: number;
  expiresMs: number;
  usedMs?: number;
}

export interface SecurityDoc {
  version: 1;
  principals: Principal[];
  pairingCodes: PairingCode[];
  policies: Policy[];
}

/** Crockford-style alphabet without look-alikes (no 0/O, 1/I/L). */
const codeAlphabet = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
const sealKeyId = 'tributary-principal-secrets';

export function normaliseCode(code: string): string {
  return code.toUpperCase().replace(/[^A-Z0-9]/g, '');
}
const hashCode = (code: string) => createHash('sha256').update(normaliseCode(code)).digest('hex');

export class PrincipalStore {
  private doc: SecurityDoc = { version: 1, principals: [], pairingCodes: [], policies: [] };
  private byKey = new Map<string, { principal: Principal; secret: string }>();
  /** Client certificate fingerprint -> the active principal it was issued to. */
  private byCertificate = new Map<string, Principal>();
  private saving: Promise<void> = Promise.resolve();

  private constructor(
    private readonly store: MetadataStore<SecurityDoc>,
    private readonly cipher: RecordCipher,
    private readonly now: () => number,
  ) {}

  static async open(store: MetadataStore<SecurityDoc>, cipher: RecordCipher, now: () => number = Date.now): Promise<PrincipalStore> {
    const s = new PrincipalStore(store, cipher, now);
    const doc = await store.load();
    if (doc) s.doc = doc;
    s.reindex();
    return s;
  }

  private reindex(): void {
    this.byKey.clear();
    this.byCertificate.clear();
    for (const p of this.doc.principals) {
      if (p.revokedMs !== undefined || p.supersededMs !== undefined) continue;
      const secret = this.cipher.open(sealKeyId, Buffer.from(p.secretSealed, 'base64')).toString('utf8');
      this.byKey.set(p.accessKeyId, { principal: p, secret });
      for (const fp of p.certificates ?? []) this.byCertificate.set(fp, p);
    }
  }

  /** Indexes (or drops from the index) one principal after a change. */
  private index(p: Principal, active: boolean): void {
    for (const fp of p.certificates ?? []) {
      if (active) this.byCertificate.set(fp, p);
      else if (this.byCertificate.get(fp) === p) this.byCertificate.delete(fp);
    }
  }

  /**
   * The active principal a client certificate was issued to, by its
   * fingerprint; undefined for a revoked principal's certificate and for
   * certificates never recorded (issued before certificates were bound).
   */
  certificateOwner(fingerprint: string): Principal | undefined {
    return this.byCertificate.get(fingerprint);
  }

  /** Records a client certificate issued to an active principal. */
  async addCertificate(accessKeyId: string, fingerprint: string): Promise<void> {
    const entry = this.byKey.get(accessKeyId);
    if (!entry) throw new TributaryError('PRINCIPAL_NOT_FOUND', `no active principal with access key ${accessKeyId}`);
    const p = entry.principal;
    p.certificates = [...(p.certificates ?? []).filter((f) => f !== fingerprint), fingerprint];
    this.index(p, true);
    await this.persist();
  }

  private persist(): Promise<void> {
    const doc = structuredClone(this.doc);
    const next = this.saving.then(() => this.store.save(doc));
    this.saving = next.catch(() => {});
    return next;
  }

  /** The active principal for an access key (revoked and rotated-out keys are not found). */
  lookup(accessKeyId: string): { principal: Principal; secret: string } | undefined {
    return this.byKey.get(accessKeyId);
  }

  policy(name: string): Policy | undefined {
    return builtInPolicies.find((p) => p.name === name) ?? this.doc.policies.find((p) => p.name === name);
  }

  policies(): Policy[] {
    return [...builtInPolicies, ...this.doc.policies];
  }

  async putPolicy(policy: Policy): Promise<void> {
    this.doc.policies = [...this.doc.policies.filter((p) => p.name !== policy.name), policy];
    await this.persist();
  }

  async deletePolicy(name: string): Promise<void> {
    if (this.doc.principals.some((p) => p.policy === name && p.revokedMs === undefined)) {
      throw new TributaryError('POLICY_IN_USE', `policy ${name} is still used by a principal; change or revoke those first`);
    }
    this.doc.policies = this.doc.policies.filter((p) => p.name !== name);
    await this.persist();
  }

  list(): Principal[] {
    return this.doc.principals.filter((p) => p.supersededMs === undefined);
  }

  private newKeyPair(): { accessKeyId: string; secret: string } {
    const id = Array.from(randomBytes(16), (b) => 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'[b & 31]).join('');
    return { accessKeyId: `AKIA${id}`, secret: randomBytes(30).toString('base64') };
  }

  private async add(p: Omit<Principal, 'accessKeyId' | 'secretSealed' | 'createdMs'>): Promise<{ principal: Principal; secretAccessKey: string }> {
    const { accessKeyId, secret } = this.newKeyPair();
    const principal: Principal = {
      ...p,
      accessKeyId,
      secretSealed: this.cipher.seal(sealKeyId, Buffer.from(secret, 'utf8')).toString('base64'),
      createdMs: this.now(),
    };
    this.doc.principals.push(principal);
    this.byKey.set(accessKeyId, { principal, secret });
    this.index(principal, true);
    await this.persist();
    return { principal, secretAccessKey: secret };
  }

  async createOperator(name: string, policy = 'admin'): Promise<{ principal: Principal; secretAccessKey: string }> {
    this.requirePolicy(policy);
    return this.add({ kind: 'operator', name, policy });
  }

  /** Installs an operator key chosen elsewhere (provisioning tools, tests). */
  async importOperator(name: string, accessKeyId: string, secretAccessKey: string, policy = 'admin'): Promise<Principal> {
    if (!/^[A-Z0-9]{16,128}$/.test(accessKeyId)) throw new TributaryError('ACCESS_KEY_INVALID', 'access key ids are 16-128 of [A-Z0-9]');
    if (secretAccessKey.length < 16) throw new TributaryError('SECRET_TOO_SHORT', 'secret access keys need at least 16 characters');
    if (this.doc.principals.some((p) => p.accessKeyId === accessKeyId)) throw new TributaryError('ACCESS_KEY_EXISTS', `access key ${accessKeyId} exists`);
    this.requirePolicy(policy);
    const principal: Principal = {
      accessKeyId,
      secretSealed: this.cipher.seal(sealKeyId, Buffer.from(secretAccessKey, 'utf8')).toString('base64'),
      kind: 'operator',
      name,
      policy,
      createdMs: this.now(),
    };
    this.doc.principals.push(principal);
    this.byKey.set(accessKeyId, { principal, secret: secretAccessKey });
    await this.persist();
    return principal;
  }

  private requirePolicy(name: string): void {
    if (!this.policy(name)) throw new TributaryError('POLICY_UNKNOWN', `unknown policy ${name} (known: ${this.policies().map((p) => p.name).join(', ')})`);
  }

  /** A new one-time pairing code; only its hash is kept. */
  async createPairingCode(name: string, policy: string, ttlMs: number): Promise<{ code: string; expiresMs: number }> {
    if (!/^[a-zA-Z0-9_.-]{1,64}$/.test(name)) throw new TributaryError('DEVICE_NAME_INVALID', 'device names are 1-64 of [a-zA-Z0-9_.-]');
    const now = this.now();
    const taken = [...this.activeDeviceNames(), ...this.doc.pairingCodes.filter((c) => c.expiresMs > now && c.usedMs === undefined).map((c) => c.name)];
    const other = taken.find((t) => deviceNamesOverlap(name, t));
    if (other !== undefined) {
      throw new TributaryError('DEVICE_NAME_COLLISION', `device name ${name} overlaps device ${other}: a device owns the resources named <device> and *-<device>, so one name must not end with "-" and the other`);
    }
    this.requirePolicy(policy);
    const raw = Array.from(randomBytes(10), (b) => codeAlphabet[b % codeAlphabet.length]).join('');
    const code = `${raw.slice(0, 5)}-${raw.slice(5)}`;
    this.doc.pairingCodes = this.doc.pairingCodes.filter((c) => c.expiresMs > now && c.usedMs === undefined);
    this.doc.pairingCodes.push({ codeHash: hashCode(code), name, policy, createdMs: now, expiresMs: now + ttlMs });
    await this.persist();
    return { code, expiresMs: now + ttlMs };
  }

  /**
   * Redeems a code: single use, unexpired. Returns undefined for any failure
   * (wrong, used or expired code alike) so callers cannot tell them apart.
   */
  async redeem(code: string, publicKey: string): Promise<{ principal: Principal; secretAccessKey: string } | undefined> {
    const now = this.now();
    const match = this.pendingCode(code, now);
    if (!match) return undefined;
    // A device paired since the code was made may have taken an overlapping name: the code stays unused.
    if ([...this.activeDeviceNames()].some((n) => deviceNamesOverlap(n, match!.name))) return undefined;
    match.usedMs = now;
    const existing = this.doc.principals.find((p) => p.kind === 'device' && p.name === match!.name && p.revokedMs === undefined && p.supersededMs === undefined);
    if (existing) {
      // Re-pairing a device replaces its old identity.
      existing.revokedMs = now;
      this.byKey.delete(existing.accessKeyId);
      this.index(existing, false);
    }
    return this.add({ kind: 'device', name: match.name, policy: match.policy, deviceId: randomUUID(), publicKey });
  }

  /** Whether a code would redeem now (it stays unused): the pairing endpoint's cheap first check. */
  redeemable(code: string): boolean {
    return this.pendingCode(code, this.now()) !== undefined;
  }

  /** The unused, unexpired code matching `code`, compared with every entry in constant time so the timing says nothing. */
  private pendingCode(code: string, now: number): PairingCode | undefined {
    const h = Buffer.from(hashCode(code), 'hex');
    let match: PairingCode | undefined;
    for (const c of this.doc.pairingCodes) {
      if (timingSafeEqual(Buffer.from(c.codeHash, 'hex'), h) && c.usedMs === undefined && c.expiresMs > now) match = c;
    }
    return match;
  }

  private activeDeviceNames(): Set<string> {
    return new Set(this.doc.principals.filter((p) => p.kind === 'device' && p.revokedMs === undefined && p.supersededMs === undefined).map((p) => p.name));
  }

  find(idOrName: string): Principal | undefined {
    return this.list().find((p) => p.accessKeyId === idOrName || p.deviceId === idOrName || (p.name === idOrName && p.revokedMs === undefined));
  }

  async revoke(idOrName: string): Promise<Principal> {
    const p = this.find(idOrName);
    if (!p) throw new TributaryError('PRINCIPAL_NOT_FOUND', `no principal ${idOrName}`);
    p.revokedMs = this.now();
    this.byKey.delete(p.accessKeyId);
    this.index(p, false);
    await this.persist();
    return p;
  }

  /** Replaces a principal's key pair; the old key stops working at once. */
  async rotate(idOrName: string): Promise<{ principal: Principal; secretAccessKey: string }> {
    const p = this.find(idOrName);
    if (!p || p.revokedMs !== undefined) throw new TributaryError('PRINCIPAL_NOT_FOUND', `no active principal ${idOrName}`);
    p.supersededMs = this.now();
    this.byKey.delete(p.accessKeyId);
    this.index(p, false);
    const { accessKeyId: _a, secretSealed: _s, createdMs: _c, supersededMs: _x, ...rest } = p;
    return this.add(rest);
  }
}
