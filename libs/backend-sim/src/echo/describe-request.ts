import type { IncomingHttpHeaders } from 'node:http';

/** What /echo saw of a request: enough for a gateway test to check what was forwarded. */
export interface EchoedRequest {
  readonly method: string;
  /** The request target exactly as received (path and raw query). */
  readonly url: string;
  readonly path: string;
  readonly query: Record<string, string | string[]>;
  readonly headers: IncomingHttpHeaders;
  /** The peer of this connection (the gateway, when proxied). */
  readonly remoteAddress?: string;
}

export function describeRequest(method: string, url: string, headers: IncomingHttpHeaders, remoteAddress?: string): EchoedRequest {
  const parsed = new URL(url, 'http://backend.invalid');
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of parsed.searchParams) {
    const previous = query[key];
    query[key] = previous === undefined ? value : Array.isArray(previous) ? [...previous, value] : [previous, value];
  }
  return { method, url, path: parsed.pathname, query, headers, remoteAddress };
}

/** JSON that is safe as a header value: anything outside printable ASCII is \u-escaped. */
export function headerSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A request carries a body when it says so (RFC 9112 6.3): a Content-Length above 0 or a Transfer-Encoding. */
export function hasBody(headers: IncomingHttpHeaders): boolean {
  if (headers['transfer-encoding'] !== undefined) return true;
  const length = Number(headers['content-length'] ?? 0);
  return Number.isFinite(length) && length > 0;
}
