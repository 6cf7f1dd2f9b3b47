/** Undici and socket error codes that mean the request never reached the backend. */
const NOT_SENT = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND', 'UND_ERR_CONNECT_TIMEOUT']);
const TIMEOUTS = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);
/** The connection was lost before any answer: a reused keep-alive socket to a backend that just died. */
const LOST_UNANSWERED = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);

function codeOf(err: unknown): string | undefined {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | null;
  if (typeof e?.code === 'string' && e.code !== 'UND_ERR_SOCKET') return e.code;
  if (typeof e?.cause?.code === 'string') return e.cause.code;
  return typeof e?.code === 'string' ? e.code : undefined;
}

/** The one place an upstream failure gets its status ("no backend" is 503, decided before forwarding). */
export function statusForUpstreamFailure(err: unknown): 502 | 504 {
  const code = codeOf(err);
  return code !== undefined && TIMEOUTS.has(code) ? 504 : 502;
}

/** True when the backend cannot have seen the request, so another backend may safely take it. */
export function failedBeforeSending(err: unknown): boolean {
  const code = codeOf(err);
  return code !== undefined && NOT_SENT.has(code);
}

/**
 * True when the backend gave no answer at all, whether or not it saw the request: a request that
 * may be replayed (an idempotent method without a body) can then go to another backend, as nginx's
 * `proxy_next_upstream error` does. Not a timeout: a backend still working on it might finish it.
 */
export function failedBeforeAnswer(err: unknown): boolean {
  const code = codeOf(err);
  return code !== undefined && (NOT_SENT.has(code) || LOST_UNANSWERED.has(code));
}

/** A short, stable label for logs and metrics. */
export function upstreamFailureCode(err: unknown): string {
  return codeOf(err) ?? 'UNKNOWN';
}
