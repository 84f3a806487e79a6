/**
 * The operator's allow-list for HTTP endpoint destinations
 * (`firehose.httpEndpointsAllowed`; issue #11, item 9). A delivery stream's
 * `EndpointConfiguration.Url` is chosen by whoever creates it, and the
 * gateway posts from inside the network it runs in: without a list, a caller
 * allowed `firehose:DeliverToHttpEndpoint` can make it post to the gateway's
 * own loopback services, a cloud metadata address or the LAN. With a list,
 * only URLs it names are accepted (CreateDeliveryStream, UpdateDestination)
 * and posted to (every delivery attempt, so that narrowing the list takes
 * effect at the next restart for delivery streams created before).
 *
 * An entry is a URL: its scheme, host and port must match exactly, except
 * that a host `*.example.com` matches any name under example.com (not
 * example.com itself); its path is a prefix (`https://c.example.com/in/`
 * allows `/in/a` and `/in/b`, not `/admin`). Matching is on the URL's text:
 * a name is resolved when a delivery posts, so list names whose DNS you trust.
 * Pure.
 */

export interface AllowEntry {
  protocol: string;
  /** Lower case; `*.` + suffix for a wildcard. */
  host: string;
  port: string;
  pathPrefix: string;
}

/** Parses the configured entries; throws Error naming the bad one. */
export function parseAllowList(entries: readonly string[]): AllowEntry[] {
  return entries.map((e) => {
    const wildcard = /^(https?:\/\/)\*\./i.exec(e);
    let url: URL;
    try {
      url = new URL(wildcard ? e.replace('*.', 'wildcard.') : e);
    } catch {
      throw new Error(`${JSON.stringify(e)} is not a URL`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`${JSON.stringify(e)} is not an http:// or https:// URL`);
    if (url.search || url.hash || url.username || url.password) throw new Error(`${JSON.stringify(e)} must not carry a query, fragment or credentials`);
    const host = wildcard ? `*.${url.hostname.slice('wildcard.'.length)}` : url.hostname;
    return { protocol: url.protocol, host: host.toLowerCase(), port: url.port, pathPrefix: url.pathname };
  });
}

/** Whether `url` is one the list allows; a list of undefined allows every URL. */
export function httpEndpointAllowed(list: readonly AllowEntry[] | undefined, url: string): boolean {
  if (!list) return true;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  const host = u.hostname.toLowerCase();
  return list.some((e) =>
    e.protocol === u.protocol && e.port === u.port && u.pathname.startsWith(e.pathPrefix) &&
    (e.host.startsWith('*.') ? host.endsWith(e.host.slice(1)) && host.length > e.host.length - 1 : host === e.host));
}
