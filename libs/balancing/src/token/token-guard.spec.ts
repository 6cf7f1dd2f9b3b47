import { randomBytes } from 'node:crypto';
import { signToken, withToken } from './redirect-token';
import { createTokenGuard } from './token-guard';

const ring = { keys: [{ id: 'k1', secret: randomBytes(32) }] };
const NOW = 1_800_000_000_000;
const url = (tokenId = 't1') =>
  withToken('/work?ms=5', signToken(ring, { method: 'GET', pathAndQuery: '/work?ms=5', backendId: 'b1', expiresAt: NOW + 1_000, tokenId }));

describe('createTokenGuard', () => {
  it('serves a fresh token once and refuses it as a replay afterwards', async () => {
    const claimed = new Set<string>();
    const guard = createTokenGuard({
      ring,
      backendId: () => 'b1',
      now: () => NOW,
      claim: async (id) => !claimed.has(id) && Boolean(claimed.add(id)),
    });
    expect(await guard('GET', url())).toEqual({ ok: true, url: '/work?ms=5' });
    const replay = await guard('GET', url());
    expect(replay).toMatchObject({ ok: false, reason: 'already-used', problem: { status: 403, reason: 'already-used' } });
  });

  it('refuses with the reason in a 403 problem', async () => {
    const guard = createTokenGuard({ ring, backendId: () => 'b2', now: () => NOW });
    expect(await guard('GET', url())).toMatchObject({ ok: false, reason: 'wrong-backend', problem: { status: 403, title: 'Forbidden' } });
    expect(await guard('GET', '/work?ms=5')).toMatchObject({ ok: false, reason: 'missing' });
  });

  it('serves when the claim cannot be made, and still refuses the replay', async () => {
    const errors: unknown[] = [];
    const guard = createTokenGuard({ ring, backendId: () => 'b1', now: () => NOW, claim: () => Promise.reject(new Error('down')), onClaimError: (e) => errors.push(e) });
    expect((await guard('GET', url())).ok).toBe(true);
    expect(errors).toHaveLength(1);
    expect(await guard('GET', url())).toMatchObject({ ok: false, reason: 'already-used' });
  });

  it('serves a token whose slot the store does not know (decided while the gateway\u2019s store was away)', async () => {
    const guard = createTokenGuard({ ring, backendId: () => 'b1', now: () => NOW, claim: async () => false });
    expect(await guard('GET', url('unreserved'))).toEqual({ ok: true, url: '/work?ms=5' });
    expect(await guard('GET', url('unreserved'))).toMatchObject({ ok: false, reason: 'already-used' });
  });

  it('refuses replays without any store', async () => {
    const guard = createTokenGuard({ ring, backendId: () => 'b1', now: () => NOW });
    expect((await guard('GET', url('t9'))).ok).toBe(true);
    expect(await guard('GET', url('t9'))).toMatchObject({ ok: false, reason: 'already-used' });
  });
});
