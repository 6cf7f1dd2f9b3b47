import type { IncomingHttpHeaders } from 'node:http';

/**
 * Headers that describe one connection, not the message (RFC 9110 7.6.1), plus those the proxy
 * sets itself. They are never copied from one side to the other; a header named in `Connection`
 * is treated the same way. `expect` is dropped because the gateway answers 100-continue itself.
 */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
  'http2-settings',
]);

/** Names listed in a Connection header value (lowercase). */
function connectionListed(value: string | string[] | undefined): Set<string> | undefined {
  if (!value || value === 'keep-alive' || value === 'close') return undefined; // what nearly every message says
  const names = (Array.isArray(value) ? value.join(',') : value)
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s && s !== 'close' && s !== 'keep-alive');
  return names.length > 0 ? new Set(names) : undefined;
}

export interface ForwardedFor {
  /** The client's address as the gateway saw it. */
  readonly clientIp: string | undefined;
  /** `http` or `https`: how the client reached the gateway. */
  readonly proto: string;
  readonly requestId: string;
}

/**
 * Request headers for the backend, as a flat [name, value, ...] list built from the client's raw
 * headers (original case and order kept, duplicates kept), without hop-by-hop headers, with
 * X-Forwarded-For appended to and X-Forwarded-Proto/-Host and X-Request-Id set by us.
 * `Host` passes through unchanged so backends see the name the client used.
 */
export function upstreamRequestHeaders(rawHeaders: readonly string[], connection: string | string[] | undefined, fwd: ForwardedFor): string[] {
  const listed = connectionListed(connection);
  const out: string[] = [];
  let forwardedFor: string | undefined;
  let host: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i];
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || listed?.has(lower)) continue;
    switch (lower) {
      case 'x-forwarded-for':
        forwardedFor = forwardedFor ? `${forwardedFor}, ${rawHeaders[i + 1]}` : rawHeaders[i + 1];
        continue;
      case 'x-forwarded-proto':
      case 'x-forwarded-host':
      case 'x-request-id':
        continue; // ours replace the client's: a client must not choose what backends trust
      case 'host':
        host = rawHeaders[i + 1];
        break;
    }
    out.push(name, rawHeaders[i + 1]);
  }
  const ip = fwd.clientIp ? stripV4Mapped(fwd.clientIp) : undefined;
  if (ip) out.push('x-forwarded-for', forwardedFor ? `${forwardedFor}, ${ip}` : ip);
  else if (forwardedFor) out.push('x-forwarded-for', forwardedFor);
  out.push('x-forwarded-proto', fwd.proto);
  if (host) out.push('x-forwarded-host', host);
  out.push('x-request-id', fwd.requestId);
  return out;
}

/** Response headers for the client: the backend's, minus hop-by-hop ones, plus the request id if given. */
export function downstreamResponseHeaders(headers: IncomingHttpHeaders, requestId?: string): IncomingHttpHeaders {
  const listed = connectionListed(headers.connection);
  const out: IncomingHttpHeaders = {};
  for (const name in headers) {
    if (HOP_BY_HOP.has(name) || listed?.has(name)) continue;
    out[name] = headers[name];
  }
  if (requestId !== undefined) out['x-request-id'] = requestId;
  return out;
}

function stripV4Mapped(ip: string): string {
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}
