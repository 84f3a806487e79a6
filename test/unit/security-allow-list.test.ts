// Issue #11, item 9: proves the HTTP endpoint allow-list matches URLs by
// scheme, host and port exactly (a `*.` host for names under a domain only)
// and by path prefix after normalisation, so look-alike hosts, other ports,
// user-info tricks and `..` segments do not slip through.
import { describe, expect, it } from 'vitest';
import { httpEndpointAllowed, parseAllowList } from '../../gateway/firehose/http-endpoint-allow-list.ts';

describe('HTTP endpoint allow-list', () => {
  const list = parseAllowList(['https://collector.example.com/in/', 'https://*.ingest.example.net', 'http://127.0.0.1:9000/hook']);
  const allowed = (url: string) => httpEndpointAllowed(list, url);

  it('allows what it names', () => {
    expect(allowed('https://collector.example.com/in/')).toBe(true);
    expect(allowed('https://COLLECTOR.example.com/in/a/b?x=1')).toBe(true);
    expect(allowed('https://eu.ingest.example.net/anything')).toBe(true);
    expect(allowed('https://a.b.ingest.example.net/')).toBe(true);
    expect(allowed('http://127.0.0.1:9000/hook/1')).toBe(true);
  });

  it('refuses look-alikes, other ports and schemes, and paths that climb out', () => {
    for (const url of [
      'https://collector.example.com/admin', 'https://collector.example.com/in/../admin', 'https://collector.example.com/in/%2e%2e/admin',
      'https://collector.example.com.evil.net/in/', 'https://evil.net/in/', 'https://collector.example.com@evil.net/in/',
      'https://collector.example.com:8443/in/', 'http://collector.example.com/in/', 'https://ingest.example.net/', 'https://xingest.example.net/',
      'http://127.0.0.1:9001/hook', 'http://127.0.0.1/hook', 'http://localhost:9000/hook', 'not a url',
    ]) expect(allowed(url), url).toBe(false);
  });

  it('allows everything without a list, and rejects bad entries', () => {
    expect(httpEndpointAllowed(undefined, 'http://169.254.169.254/')).toBe(true);
    expect(httpEndpointAllowed([], 'https://collector.example.com/in/')).toBe(false);
    expect(() => parseAllowList(['ftp://x/'])).toThrow(/not an http/);
    expect(() => parseAllowList(['https://u:p@x/'])).toThrow(/credentials/);
    expect(() => parseAllowList(['collector'])).toThrow(/not a URL/);
  });
});
