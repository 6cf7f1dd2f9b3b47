import { SeenTokens } from './seen-tokens';

describe('SeenTokens', () => {
  it('admits an id once until it expires', () => {
    const seen = new SeenTokens();
    expect(seen.remember('a', 1_000, 0)).toBe(true);
    expect(seen.remember('a', 1_000, 500)).toBe(false);
    expect(seen.remember('b', 1_500, 500)).toBe(true);
    expect(seen.remember('b', 1_500, 900)).toBe(false);
  });

  it('forgets expired ids, so memory stays bounded by the arrival rate times the token lifetime', () => {
    const seen = new SeenTokens();
    for (let i = 0; i < 1_000; i++) seen.remember(`t${i}`, i + 100, i);
    expect(seen.size).toBeLessThanOrEqual(101);
  });
});
