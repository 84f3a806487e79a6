/**
 * Serves the web console's static bundle at `/console/` (built by
 * scripts/build.mjs into `console/` beside the gateway bundle). Only the
 * files the build lists are served, by exact path: nothing is read from a
 * path the request names. Missing bundle (a gateway run from source without
 * a build): `/console/` answers 404 saying how to build it.
 */
import fs from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
};

/** The console directory: beside the bundle (dist/console), or the repository's dist/console when run from source. */
export function consoleDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const beside = path.join(here, 'console');
  if (fs.existsSync(path.join(beside, 'index.html'))) return beside;
  return path.resolve(here, '../../dist/console');
}

type Route = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export function consoleRoutes(dir: string = consoleDir()): Record<string, Route> {
  const files = ['index.html', 'console.js', 'console.js.map', 'console.css', 'hls.mjs'];
  const serve = (file: string): Route => (req, res) => {
    if (req.method !== 'GET') {
      res.writeHead(405, { Allow: 'GET' }).end();
      return;
    }
    let body: Buffer;
    try {
      body = fs.readFileSync(path.join(dir, file));
    } catch {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('The console is not built: run `npm run build`.\n');
      return;
    }
    res.writeHead(200, {
      'Content-Type': types[path.extname(file)] ?? 'application/octet-stream',
      'Content-Length': body.length,
      'Cache-Control': 'no-cache',
      'X-Content-Type-Options': 'nosniff',
      // The console talks only to this gateway and loads nothing from elsewhere. Video plays
      // through Media Source Extensions, whose media element source is a blob: URL.
      'Content-Security-Policy': "default-src 'self'; connect-src 'self'; img-src 'self' data:; media-src 'self' blob:; frame-ancestors 'none'",
      'Referrer-Policy': 'no-referrer',
    });
    res.end(body);
  };
  const routes: Record<string, Route> = {
    '/console': (_req, res) => {
      res.writeHead(301, { Location: '/console/' }).end();
    },
    '/console/': serve('index.html'),
  };
  for (const f of files) routes[`/console/${f}`] = serve(f);
  return routes;
}
