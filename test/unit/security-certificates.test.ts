// Issue #11, item 8: proves that the principal store keeps each client
// certificate bound to the one active principal it was issued to: a key
// rotation carries the certificate over to the new key, revocation and
// re-pairing drop it, and the binding survives a reopen from disk.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PrincipalStore, type SecurityDoc } from '../../gateway/devices/principals.ts';
import { JsonFileStore } from '../../gateway/storage/local/metadata-store.ts';
import { RecordCipher } from '../../gateway/streams/encryption.ts';
import { tempDir } from '../helpers/gateway.ts';

const masterKey = randomBytes(32);
const open = (dir: string) => PrincipalStore.open(new JsonFileStore<SecurityDoc>(path.join(dir, 'security.json')), new RecordCipher(masterKey));

async function pair(store: PrincipalStore, name: string, fingerprint: string): Promise<string> {
  const { code } = await store.createPairingCode(name, 'device', 60_000);
  const { principal } = (await store.redeem(code, randomBytes(32).toString('base64')))!;
  await store.addCertificate(principal.accessKeyId, fingerprint);
  return principal.accessKeyId;
}

describe('client certificates bound to principals (issue #11, item 8)', () => {
  it('follows rotation, drops on revocation and re-pairing, and survives a reopen', async () => {
    const dir = tempDir('trb-certs-');
    const store = await open(dir);
    const a = await pair(store, 'cam-a', 'SHA256:AA');
    const b = await pair(store, 'cam-b', 'SHA256:BB');
    expect(store.certificateOwner('SHA256:AA')?.accessKeyId).toBe(a);
    expect(store.certificateOwner('SHA256:BB')?.accessKeyId).toBe(b);
    expect(store.certificateOwner('SHA256:CC')).toBeUndefined();

    const rotated = await store.rotate('cam-a');
    expect(store.certificateOwner('SHA256:AA')?.accessKeyId).toBe(rotated.principal.accessKeyId);

    await store.revoke('cam-b');
    expect(store.certificateOwner('SHA256:BB')).toBeUndefined();

    // Pairing cam-a again replaces its identity: the old certificate goes with it.
    const a2 = await pair(store, 'cam-a', 'SHA256:A2');
    expect(store.certificateOwner('SHA256:AA')).toBeUndefined();
    expect(store.certificateOwner('SHA256:A2')?.accessKeyId).toBe(a2);

    const reopened = await open(dir);
    expect(reopened.certificateOwner('SHA256:A2')?.accessKeyId).toBe(a2);
    expect(reopened.certificateOwner('SHA256:AA')).toBeUndefined();
    expect(reopened.certificateOwner('SHA256:BB')).toBeUndefined();
  });
});
