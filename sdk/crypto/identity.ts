/**
 * A device's long-term identity: an ed25519 key pair made with tweetnacl.
 * It proves possession during pairing (a signature over the pairing request,
 * bound to the gateway's TLS certificate) and later signs what the device
 * vouches for.
 */
import nacl from 'tweetnacl';

export interface DeviceIdentity {
  /** base64 ed25519 public key (32 bytes). */
  publicKey: string;
  /** base64 ed25519 secret key (64 bytes). Keep it in a 0600 file. */
  secretKey: string;
}

/** @example const id = createIdentity(); */
export function createIdentity(): DeviceIdentity {
  const kp = nacl.sign.keyPair();
  return { publicKey: Buffer.from(kp.publicKey).toString('base64'), secretKey: Buffer.from(kp.secretKey).toString('base64') };
}

/** Detached ed25519 signature (base64) of `message`. */
export function signDetached(identity: DeviceIdentity, message: Uint8Array): string {
  return Buffer.from(nacl.sign.detached(message, Buffer.from(identity.secretKey, 'base64'))).toString('base64');
}

/** Verifies a detached signature; false for malformed keys or signatures. */
export function verifyDetached(publicKey: string, message: Uint8Array, signature: string): boolean {
  const pk = Buffer.from(publicKey, 'base64');
  const sig = Buffer.from(signature, 'base64');
  if (pk.length !== nacl.sign.publicKeyLength || sig.length !== nacl.sign.signatureLength) return false;
  return nacl.sign.detached.verify(message, sig, pk);
}

/**
 * The exact bytes a device signs when pairing. Binding the gateway's server
 * certificate fingerprint means a proof made for one gateway is useless to
 * replay at another.
 */
export function pairingMessage(p: { code: string; publicKey: string; clientPublicKey: string; timestampMs: number; serverFingerprint: string }): Buffer {
  return Buffer.from(['tributary-pair-v1', p.code, p.publicKey, p.clientPublicKey, String(p.timestampMs), p.serverFingerprint].join('\n'), 'utf8');
}
