/** Why a request cannot be forwarded as sent: the client's fault, answered before any pick. */
export interface UnforwardableReason {
  /** The header at fault (lowercase), or `request-target`. */
  readonly field: string;
  readonly detail: string;
  /** What the field accepts. */
  readonly allowed: string;
  /**
   * 400 for a malformed request; 501 for a transfer coding other than chunked, which the gateway
   * cannot pass on and a server "SHOULD" answer so (RFC 9112 6.1; nginx does the same).
   */
  readonly status: 400 | 501;
}

/** RFC 9110 5.1 field names (undici's isValidHTTPToken). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Anything but HTAB, SP, VCHAR and obs-text (undici's headerCharRegex, from Node's _http_common). */
const INVALID_VALUE_CHAR = /[^\t\x20-\x7e\x80-\xff]/;
/** undici's invalidPathRegex: a request target is visible ASCII or obs-text, nothing else. */
const INVALID_TARGET_CHAR = /[^\u0021-\u00ff]/;

/**
 * Whether this process runs Node's HTTP parser in its strict default, which already refuses what
 * undici would (bad names, control characters, malformed or repeated Content-Length) before a
 * request reaches the gateway. Only `--insecure-http-parser` turns that off.
 */
const STRICT_PARSER = ![...process.execArgv, ...(process.env['NODE_OPTIONS'] ?? '').split(/\s+/)].includes('--insecure-http-parser');

/**
 * Whether the gateway can forward a request as Node's parser handed it over: undefined when it
 * can, else which field is at fault. What Node accepts and undici refuses: more than one Host
 * (RFC 9112 3.2 requires a 400 even when the values agree). What Node accepts and the gateway
 * would mangle: a transfer coding on top of chunked (`gzip, chunked`), whose coding would be lost
 * with the hop-by-hop header. Behind a lenient parser (`parserChecked` false) it also mirrors
 * what undici's dispatch refuses for the headers upstreamRequestHeaders keeps (lib/core/request.js,
 * processHeader), so a malformed request is answered 400 before a backend is picked, instead of
 * failing in dispatch as a 502 that counts against a backend. Runs once per request: under the
 * strict parser it compares a name only when its length matches one of the three it looks for.
 */
export function unforwardableReason(rawHeaders: readonly string[], target?: string, options: { readonly parserChecked?: boolean } = {}): UnforwardableReason | undefined {
  if (target !== undefined && INVALID_TARGET_CHAR.test(target)) {
    return { field: 'request-target', detail: 'the request target contains characters outside visible ASCII', allowed: 'visible ASCII (percent-encode the rest)', status: 400 };
  }
  const checkSyntax = !(options.parserChecked ?? STRICT_PARSER);
  let hosts = 0;
  let lengths = 0;
  let codings: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i];
    const value = rawHeaders[i + 1];
    if (checkSyntax) {
      if (!TOKEN.test(name)) return { field: name.toLowerCase(), detail: 'a header name is not a valid token', allowed: 'letters, digits and !#$%&\'*+-.^_`|~', status: 400 };
      if (INVALID_VALUE_CHAR.test(value)) return { field: name.toLowerCase(), detail: `the ${name.toLowerCase()} header contains a control character`, allowed: 'visible characters, spaces and tabs', status: 400 };
    }
    switch (name.length) {
      case 4:
        if (name.toLowerCase() === 'host' && ++hosts > 1) return { field: 'host', detail: 'more than one Host header', allowed: 'exactly one Host header', status: 400 };
        break;
      case 14:
        if (name.toLowerCase() !== 'content-length') break;
        if (++lengths > 1) return { field: 'content-length', detail: 'more than one Content-Length header', allowed: 'one Content-Length header', status: 400 };
        if (!/^\d+$/.test(value)) return { field: 'content-length', detail: 'Content-Length is not a number of bytes', allowed: 'digits', status: 400 };
        break;
      case 17:
        if (name.toLowerCase() === 'transfer-encoding') codings = codings === undefined ? value : `${codings},${value}`;
        break;
    }
  }
  if (codings !== undefined && codings.trim().toLowerCase() !== 'chunked') {
    return { field: 'transfer-encoding', detail: 'chunked is the only transfer coding this gateway forwards', allowed: 'chunked', status: 501 };
  }
  return undefined;
}
