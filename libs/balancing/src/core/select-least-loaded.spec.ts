import { effectiveActive, selectLeastLoaded } from './select-least-loaded';
import type { Candidate } from './types';

const c = (id: string, active: number, weight = 1, draining = false): Candidate => ({ id, active, weight, draining });
const first = () => 0;
const last = () => 0.999999;

describe('selectLeastLoaded', () => {
  it.each<[string, Candidate[], () => number, string | undefined]>([
    ['empty pool', [], first, undefined],
    ['fewest active wins', [c('a', 3), c('b', 1), c('c', 2)], first, 'b'],
    ['tie, first draw', [c('a', 1), c('b', 1), c('c', 2)], first, 'a'],
    ['tie, last draw', [c('a', 1), c('b', 1), c('c', 2)], last, 'b'],
    ['weight divides load', [c('a', 3, 2), c('b', 2, 1)], first, 'a'],
    ['draining is never chosen', [c('a', 0, 1, true), c('b', 9)], first, 'b'],
    ['only draining: nothing', [c('a', 0, 1, true)], first, undefined],
    ['zero weight has no capacity', [c('a', 0, 0), c('b', 5)], first, 'b'],
    ['negative weight has no capacity', [c('a', 0, -1)], first, undefined],
  ])('%s', (_name, pool, random, expected) => {
    expect(selectLeastLoaded(pool, random)?.id).toBe(expected);
  });

  it('spreads ties over every tied backend according to the draw', () => {
    const pool = [c('a', 0), c('b', 0), c('c', 0), c('d', 0)];
    const draws = [0, 0.25, 0.5, 0.75];
    expect(draws.map((d) => selectLeastLoaded(pool, () => d)?.id)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('fills a weighted pool in proportion to weights when picks are counted', () => {
    const active: Record<string, number> = { a: 0, b: 0 };
    const weights: Record<string, number> = { a: 2, b: 1 };
    for (let i = 0; i < 30; i++) {
      const pool = Object.keys(active).map((id) => c(id, active[id], weights[id]));
      active[selectLeastLoaded(pool, first)!.id] += 1;
    }
    expect(active).toEqual({ a: 20, b: 10 });
  });
});

describe('effectiveActive', () => {
  it.each([
    [3, 1, 3],
    [1, 3, 3],
    [0, 0, 0],
  ])('max(inflight %p, reported %p) = %p', (inflight, reported, expected) => {
    expect(effectiveActive(inflight, reported)).toBe(expected);
  });
});
