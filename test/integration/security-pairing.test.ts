// Issue #11, item 9 (pairing): proves against a real `tributary gateway start`
// child process that wrong pairing codes from rotating addresses cannot lock
// pairing out for everyone. An attacker sends a burst of 40 wrong codes, each
// from its own loopback address, and then keeps up 2.5 a second from new
// addresses; meanwhile a device pairs with the valid code the operator's CLI
// made, and succeeds. The wrong codes are answered 403 and, past the global
// budget, 429, and the rate limiting is logged once, not per attempt.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnTestGateway } from '../helpers/attack.ts';
import { tributaryBundle } from '../helpers/bundles.ts';
import { pairDevice } from '../../sdk/devices/pairing.ts';
import { pairingFailuresPerMinute } from '../../gateway/devices/pairing-endpoint.ts';

const run = promisify(execFile);
type Spawned = Awaited<ReturnType<typeof spawnTestGateway>>;
let gw: Spawned;
let ca: string;

beforeAll(async () => {
  gw = await spawnTestGateway([], { tls: true });
  ca = fs.readFileSync(path.join(gw.dataDir, 'tls', 'ca.crt'), 'utf8');
});
afterAll(async () => {
  await gw?.kill();
});

/** One pairing attempt with a wrong code from `localAddress`: its HTTP status. */
function wrongCode(localAddress: string): Promise<number> {
  const body = JSON.stringify({
    code: `WRONG-${randomBytes(3).toString('hex').toUpperCase()}`, publicKey: randomBytes(32).toString('base64'),
    clientPublicKey: '-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n', timestampMs: Date.now(), signature: randomBytes(64).toString('base64'),
  });
  return new Promise((resolve, reject) => {
    const req = https.request(new URL('/pairing', gw.url), { method: 'POST', ca, localAddress, agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('pairing under a distributed guessing attack (issue #11, item 9)', () => {
  it('honours a valid code while wrong ones arrive at 2.5 a second from rotating addresses', async () => {
    let next = 0;
    const address = () => `127.0.4.${1 + (next++ % 250)}`;
    const statuses: number[] = [];
    const attackStarted = Date.now();
    // The burst: more wrong codes than the global budget, each from a new address (so no per-address limit applies).
    statuses.push(...(await Promise.all(Array.from({ length: pairingFailuresPerMinute + 10 }, () => wrongCode(address())))));
    // Then a steady 2.5 a second until the device has paired.
    let pairing = true;
    const steady = (async () => {
      while (pairing) {
        const started = Date.now();
        statuses.push(await wrongCode(address()));
        await new Promise((r) => setTimeout(r, Math.max(0, 400 - (Date.now() - started))));
      }
    })();
    try {
      const { stdout } = await run(process.execPath, [tributaryBundle(), 'devices', 'pair-code', '--name', 'cam-1', '--profile', path.join(gw.dataDir, 'operator.json')], { timeout: 60_000 });
      const { code, caFingerprint } = JSON.parse(stdout) as { code: string; caFingerprint: string };
      const creds = await pairDevice({ endpoint: gw.url, code, caFingerprint });
      expect(creds.name).toBe('cam-1');
      expect(creds.clientCertificate).toContain('BEGIN CERTIFICATE');
    } finally {
      pairing = false;
      await steady;
    }
    // Wrong codes: refused (403) within the global budget, which refills at its rate a minute, and rate limited (429) past it.
    const refilled = Math.ceil(((Date.now() - attackStarted) / 60_000) * pairingFailuresPerMinute);
    const refused = statuses.filter((s) => s === 403).length;
    expect(statuses.every((s) => s === 403 || s === 429)).toBe(true);
    expect(refused).toBeGreaterThanOrEqual(pairingFailuresPerMinute);
    expect(refused).toBeLessThanOrEqual(pairingFailuresPerMinute + refilled);
    expect(gw.logs.filter((l) => l.includes('"pairing rate limited"'))).toHaveLength(1);
  });
});
