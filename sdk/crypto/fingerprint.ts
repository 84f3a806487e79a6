/** Certificate fingerprints as operators read them and devices pin them. */
import { X509Certificate } from 'node:crypto';

/** `SHA256:AB:CD:...` of a PEM certificate (the first one in the text). */
export function fingerprintOf(certPem: string): string {
  return 'SHA256:' + new X509Certificate(certPem).fingerprint256;
}

/** Normalises user input ("sha256:abcd...", any case, with or without colons) for comparison. */
export function normaliseFingerprint(fp: string): string {
  return fp.replace(/^sha256:/i, '').replace(/[^0-9a-f]/gi, '').toUpperCase();
}
