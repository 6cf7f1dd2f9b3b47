import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signed tokens for redirect ("iterative") mode. The gateway answers 307 to the chosen backend's
 * public URL with `lb_token` appended; the backend accepts the request only if the token was made
 * by a gateway, for this backend, this method and this path and query, and has not expired.
 *
 * Token: `v1~kid~expiresAtMs~METHOD~backendId~pathHash~tokenId~mac`, where pathHash is the first
 * 16 bytes of SHA-256 over the path and query (without the token), tokenId names the gateway's
 * pending reservation (the backend claims it on arrival, which also makes the token single-use),
 * and mac is HMAC-SHA256 over everything before it. Because the claims are signed, a valid token used elsewhere is refused with the exact
 * reason (another backend, method or path), and a tampered one as a bad signature. `~` cannot occur
 * in key ids, backend ids (see core/names.ts), methods or base64url.
 */
export const TOKEN_PARAM = 'lb_token';
const VERSION = 'v1';

export interface SigningKey {
  readonly id: string;
  readonly secret: Buffer;
}

/** First key signs; every key verifies (rotation: add the new key first, drop the old one later). */
export interface KeyRing {
  readonly keys: readonly SigningKey[];
}

export interface TokenClaims {
  readonly method: string;
  /** Path and query exactly as the client sent them to the gateway, without any lb_token. */
  readonly pathAndQuery: string;
  readonly backendId: string;
  readonly expiresAt: number;
  /** Random, URL-safe, unique per redirect. */
  readonly tokenId: string;
}

export type TokenRefusal =
  | 'missing'
  | 'malformed'
  | 'unknown-key'
  | 'bad-signature'
  | 'expired'
  | 'wrong-backend'
  | 'wrong-method'
  | 'wrong-path'
  | 'already-used';

export type TokenCheck =
  | { readonly ok: true; readonly url: string; readonly tokenId: string; readonly expiresAt: number }
  | { readonly ok: false; readonly reason: TokenRefusal };

export const REFUSAL_DETAIL: Record<TokenRefusal, string> = {
  missing: 'this backend only takes requests redirected by a gateway: the lb_token parameter is missing',
  malformed: 'the lb_token parameter is not a gateway token',
  'unknown-key': 'the token was signed with a key this backend does not know (rotated out?)',
  'bad-signature': 'the token signature does not match: it was altered',
  expired: 'the token has expired: ask the gateway again',
  'wrong-backend': 'the token was issued for another backend',
  'wrong-method': 'the token was issued for another method',
  'wrong-path': 'the token was issued for another path or query',
  'already-used': 'the token was used before: each redirect is good for one request, soon after it is issued',
};

function pathHash(pathAndQuery: string): string {
  return createHash('sha256').update(pathAndQuery).digest().subarray(0, 16).toString('base64url');
}

function mac(secret: Buffer, payload: string): Buffer {
  return createHmac('sha256', secret).update(payload).digest();
}

export function signToken(ring: KeyRing, claims: TokenClaims): string {
  const key = ring.keys[0];
  if (!key) throw new Error('no signing key configured');
  const payload = [VERSION, key.id, String(claims.expiresAt), claims.method.toUpperCase(), claims.backendId, pathHash(claims.pathAndQuery), claims.tokenId].join('~');
  return `${payload}~${mac(key.secret, payload).toString('base64url')}`;
}

/** Splits `lb_token` off a raw request target, keeping every other byte of it as it was. */
export function splitToken(url: string): { pathAndQuery: string; token: string | undefined } {
  const q = url.indexOf('?');
  if (q < 0) return { pathAndQuery: url, token: undefined };
  let token: string | undefined;
  const kept: string[] = [];
  for (const part of url.slice(q + 1).split('&')) {
    if (part.startsWith(`${TOKEN_PARAM}=`)) token = decodeURIComponent(part.slice(TOKEN_PARAM.length + 1));
    else if (part !== TOKEN_PARAM) kept.push(part);
  }
  const query = kept.join('&');
  return { pathAndQuery: query ? `${url.slice(0, q)}?${query}` : url.slice(0, q), token };
}

/** Appends a token to a path and query (which must not already carry one: see splitToken). */
export function withToken(pathAndQuery: string, token: string): string {
  return `${pathAndQuery}${pathAndQuery.includes('?') ? '&' : '?'}${TOKEN_PARAM}=${token}`;
}

/**
 * Checks the token in `url` for a request of `method` arriving at `backendId`. On success returns
 * the URL without the token, as the handler should see it. Comparisons of secrets run in constant time.
 */
export function verifyToken(ring: KeyRing, method: string, url: string, backendId: string, now: number, clockSkewMs = 1_000): TokenCheck {
  const { pathAndQuery, token } = splitToken(url);
  if (!token) return { ok: false, reason: 'missing' };
  const parts = token.split('~');
  if (parts.length !== 8 || parts[0] !== VERSION) return { ok: false, reason: 'malformed' };
  const [, keyId, expires, claimedMethod, claimedBackend, claimedPath, tokenId, signature] = parts;
  const key = ring.keys.find((k) => k.id === keyId);
  if (!key) return { ok: false, reason: 'unknown-key' };
  const expected = mac(key.secret, parts.slice(0, 7).join('~'));
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad-signature' };
  if (!/^\d+$/.test(expires) || Number(expires) + clockSkewMs < now) return { ok: false, reason: 'expired' };
  if (claimedBackend !== backendId) return { ok: false, reason: 'wrong-backend' };
  if (claimedMethod !== method.toUpperCase()) return { ok: false, reason: 'wrong-method' };
  const actual = Buffer.from(pathHash(pathAndQuery));
  const claimed = Buffer.from(claimedPath);
  if (actual.length !== claimed.length || !timingSafeEqual(actual, claimed)) return { ok: false, reason: 'wrong-path' };
  return { ok: true, url: pathAndQuery, tokenId, expiresAt: Number(expires) };
}

/**
 * Parses `REDIRECT_KEYS`: comma-separated `id:secret` pairs, secret in base64 or base64url of at
 * least 32 bytes; the first pair signs. Throws a message naming what is wrong (never the secret).
 */
export function parseKeyRing(value: string): KeyRing {
  const keys = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((pair, i) => {
      const colon = pair.indexOf(':');
      const id = colon > 0 ? pair.slice(0, colon) : '';
      if (!/^[A-Za-z0-9_-]{1,32}$/.test(id)) throw new Error(`key ${i + 1}: expected "id:secret" with an id of 1-32 letters, digits, "_" or "-"`);
      const secret = Buffer.from(pair.slice(colon + 1), 'base64');
      if (secret.length < 32) throw new Error(`key "${id}": expected a base64 secret of at least 32 bytes`);
      return { id, secret };
    });
  if (keys.length === 0) throw new Error('expected at least one "id:secret" key');
  if (new Set(keys.map((k) => k.id)).size !== keys.length) throw new Error('key ids must be unique');
  return { keys };
}
