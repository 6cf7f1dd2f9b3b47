import type { IncomingMessage, ServerResponse } from 'node:http';
import { PROBLEM_CONTENT_TYPE, problem, type Problem } from '@lb/runtime';
import { REFUSAL_DETAIL, verifyToken, type KeyRing, type TokenRefusal } from './redirect-token';
import { SeenTokens } from './seen-tokens';

export interface TokenGuardOptions {
  readonly ring: KeyRing;
  /** This backend's id, as registered (tokens name the backend they were issued for). */
  readonly backendId: () => string;
  /**
   * Takes over the gateway's pending reservation (store.claim), for load accounting only: false
   * (no such slot: the gateway decided while its store was away, or the store lost it) still
   * serves. Replays are refused by this guard's own memory of the token ids it admitted.
   */
  readonly claim?: (tokenId: string) => Promise<boolean>;
  /** Called when claim() fails (store unreachable); the request is served all the same. */
  readonly onClaimError?: (err: unknown) => void;
  readonly now?: () => number;
  readonly clockSkewMs?: number;
}

export type GuardVerdict =
  | { readonly ok: true; readonly url: string }
  | { readonly ok: false; readonly reason: TokenRefusal; readonly problem: Problem };

/**
 * The backend half of redirect mode, for any Node server: accepts a request only with a valid
 * gateway token for this backend, method, path and query, and hands the handler the URL without it.
 */
export function createTokenGuard(options: TokenGuardOptions): (method: string, url: string) => Promise<GuardVerdict> {
  const now = options.now ?? Date.now;
  const seen = new SeenTokens();
  return async (method, url) => {
    const check = verifyToken(options.ring, method, url, options.backendId(), now(), options.clockSkewMs);
    if (!check.ok) return refuse(check.reason);
    if (!seen.remember(check.tokenId, check.expiresAt + (options.clockSkewMs ?? 1_000), now())) return refuse('already-used');
    if (options.claim) {
      try {
        await options.claim(check.tokenId);
      } catch (err) {
        options.onClaimError?.(err);
      }
    }
    return { ok: true, url: check.url };
  };
}

function refuse(reason: TokenRefusal): GuardVerdict {
  return { ok: false, reason, problem: problem(403, 'gateway-token', REFUSAL_DETAIL[reason], { reason, field: 'lb_token' }) };
}

/** The same guard as connect/express-style middleware for node:http servers. */
export function tokenGuardMiddleware(options: TokenGuardOptions) {
  const guard = createTokenGuard(options);
  return (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void => {
    guard(req.method ?? 'GET', req.url ?? '/').then((verdict) => {
      if (verdict.ok) {
        req.url = verdict.url;
        next();
        return;
      }
      const body = JSON.stringify(verdict.problem);
      res.writeHead(403, { 'content-type': PROBLEM_CONTENT_TYPE, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
      res.end(body);
    }, next);
  };
}
