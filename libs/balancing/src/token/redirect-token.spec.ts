import { randomBytes } from 'node:crypto';
import { parseKeyRing, signToken, splitToken, verifyToken, withToken, type KeyRing } from './redirect-token';

const k1 = { id: 'k1', secret: randomBytes(32) };
const k2 = { id: 'k2', secret: randomBytes(32) };
const ring: KeyRing = { keys: [k1] };
const NOW = 1_800_000_000_000;

function issue(overrides: Partial<{ method: string; pathAndQuery: string; backendId: string; expiresAt: number }> = {}, keys: KeyRing = ring) {
  const claims = { method: 'GET', pathAndQuery: '/work?ms=10&x=%20y', backendId: 'b1', expiresAt: NOW + 5_000, tokenId: 'tok1', ...overrides };
  return withToken(claims.pathAndQuery, signToken(keys, claims));
}

describe('redirect tokens', () => {
  it('accepts a token for this backend, method, path and query, and gives back the URL without it', () => {
    expect(verifyToken(ring, 'GET', issue(), 'b1', NOW)).toEqual({ ok: true, url: '/work?ms=10&x=%20y', tokenId: 'tok1', expiresAt: NOW + 5_000 });
    expect(verifyToken(ring, 'GET', issue({ pathAndQuery: '/plain' }), 'b1', NOW)).toMatchObject({ ok: true, url: '/plain', tokenId: 'tok1' });
  });

  it.each([
    ['missing', '/work?ms=10&x=%20y'],
    ['malformed', '/work?ms=10&x=%20y&lb_token=nonsense'],
    ['expired', issue({ expiresAt: NOW - 5_000 })],
    ['wrong-backend', issue({ backendId: 'b2' })],
    ['wrong-method', issue({ method: 'POST' })],
    ['wrong-path', issue().replace('ms=10', 'ms=99')],
    ['bad-signature', issue().replace(/~b1~/, '~b2~')],
    ['bad-signature', issue().replace(/~tok1~/, '~tok2~')],
    ['bad-signature', issue().replace(/lb_token=v1~k1~(\d+)/, (_m, exp: string) => `lb_token=v1~k1~${Number(exp) + 60_000}`)],
    ['unknown-key', issue({}, { keys: [k2] })],
  ])('refuses %s', (reason, url) => {
    expect(verifyToken(ring, 'GET', url, 'b1', NOW)).toEqual({ ok: false, reason });
  });

  it('rotates keys: a token signed with the old key stays valid while both are configured', () => {
    const old = issue({}, { keys: [k1] });
    const fresh = issue({}, { keys: [k2, k1] });
    const both: KeyRing = { keys: [k2, k1] };
    expect(verifyToken(both, 'GET', old, 'b1', NOW).ok).toBe(true);
    expect(verifyToken(both, 'GET', fresh, 'b1', NOW).ok).toBe(true);
    expect(verifyToken({ keys: [k2] }, 'GET', old, 'b1', NOW)).toEqual({ ok: false, reason: 'unknown-key' });
  });

  it('splits the token off wherever it sits, keeping other parameters byte for byte', () => {
    expect(splitToken('/a?x=1&lb_token=t&y=%2F')).toEqual({ pathAndQuery: '/a?x=1&y=%2F', token: 't' });
    expect(splitToken('/a?lb_token=t')).toEqual({ pathAndQuery: '/a', token: 't' });
    expect(splitToken('/a')).toEqual({ pathAndQuery: '/a', token: undefined });
  });

  it('parses REDIRECT_KEYS and refuses weak or malformed keys without echoing secrets', () => {
    const secret = randomBytes(32).toString('base64');
    expect(parseKeyRing(`new:${secret}, old:${secret}`).keys.map((k) => k.id)).toEqual(['new', 'old']);
    expect(() => parseKeyRing('k1:c2hvcnQ=')).toThrow('key "k1": expected a base64 secret of at least 32 bytes');
    expect(() => parseKeyRing(secret)).toThrow('key 1: expected "id:secret"');
    expect(() => parseKeyRing(`a:${secret},a:${secret}`)).toThrow('key ids must be unique');
    expect(() => parseKeyRing('')).toThrow('at least one');
  });
});
