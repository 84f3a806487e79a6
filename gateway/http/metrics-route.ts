/**
 * `GET /metrics`, Prometheus' text format, for scrapers that hold the
 * metrics token (issue #11, item 9: the page used to be readable by anyone
 * who could reach the port; it names every stream, delivery stream and
 * application, and their traffic). The token is a bearer token, which
 * Prometheus sends with `authorization: { credentials_file: ... }`; it lives
 * in a file (0600) the first start makes. `metrics.open: true` in the
 * gateway's config serves the page to anyone instead (trusted networks only).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import fsp from 'node:fs/promises';
import type http from 'node:http';
import path from 'node:path';
import { TributaryError } from '../../sdk/protocol/errors.ts';
import { writeFileAtomic } from '../storage/local/segment.ts';

export const metricsTokenFileName = 'metrics.token';

/** The metrics token in `file`, made (32 random bytes, base64url, mode 0600) when the file does not exist. */
export async function loadOrCreateMetricsToken(file: string): Promise<string> {
  try {
    const token = (await fsp.readFile(file, 'utf8')).trim();
    if (token.length < 16) throw new TributaryError('METRICS_TOKEN_INVALID', `${file} holds a metrics token of ${token.length} characters; it needs at least 16 (delete the file to have a new one made)`);
    return token;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const token = randomBytes(32).toString('base64url');
  await fsp.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeFileAtomic(file, token + '\n', 0o600);
  return token;
}

export interface MetricsRouteOptions {
  /** The exposition text, rendered per scrape. */
  render(): string;
  /** The bearer token a scrape must carry; undefined: anyone may read (`metrics.open`). */
  token: string | undefined;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

export function metricsRoute(o: MetricsRouteOptions): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  const expected = o.token === undefined ? undefined : digest(o.token);
  return (req, res) => {
    if (req.method !== 'GET') {
      res.writeHead(405, { Allow: 'GET', 'Content-Type': 'text/plain', 'Content-Length': 18 });
      return void res.end('Use GET /metrics.\n');
    }
    if (expected) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
      // Compared as digests, in constant time.
      if (!m || !timingSafeEqual(digest(m[1]!), expected)) {
        const body = 'GET /metrics needs the metrics token: Authorization: Bearer <token> (see docs/security.md).\n';
        res.writeHead(401, { 'WWW-Authenticate': 'Bearer realm="tributary metrics"', 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) });
        return void res.end(body);
      }
    }
    const body = o.render();
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  };
}
