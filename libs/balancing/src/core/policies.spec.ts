import { selectByPolicy, selectPowerOfTwo, selectRoundRobin, slowStartFactor } from './policies';
import type { Candidate } from './types';

const c = (id: string, active: number, weight = 1, draining = false): Candidate => ({ id, active, weight, draining });
const draws = (...values: number[]) => {
  let i = 0;
  return () => values[i++ % values.length];
};

describe('selectPowerOfTwo', () => {
  it.each<[string, Candidate[], number[], string | undefined]>([
    ['empty', [], [0], undefined],
    ['single', [c('a', 5)], [0], 'a'],
    ['lower of the two drawn wins', [c('a', 5), c('b', 1), c('c', 0)], [0, 0], 'b'], // draws a then b
    ['never the same backend twice', [c('a', 5), c('b', 1)], [0, 0], 'b'],
    ['weights count', [c('a', 4, 4), c('b', 2, 1)], [0, 0], 'a'],
    ['draining is skipped', [c('a', 0, 1, true), c('b', 3), c('c', 9)], [0, 0], 'b'],
  ])('%s', (_name, pool, values, expected) => {
    expect(selectPowerOfTwo(pool, draws(...values))?.id).toBe(expected);
  });
});

describe('selectRoundRobin', () => {
  it('takes eligible backends in id order, whatever their load', () => {
    const pool = [c('c', 0), c('a', 9), c('b', 0, 1, true)];
    expect([0, 1, 2, 3].map((turn) => selectRoundRobin(pool, turn)?.id)).toEqual(['a', 'c', 'a', 'c']);
  });
});

describe('selectByPolicy', () => {
  it('least-connections picks the global minimum', () => {
    expect(selectByPolicy('least-connections', [c('a', 2), c('b', 1)], () => 0, 0)?.id).toBe('b');
  });
});

describe('slowStartFactor', () => {
  it.each([
    [0, 0.1],
    [500, 0.5],
    [999, 0.999],
    [1_000, 1],
    [5_000, 1],
    [50, 0.1],
  ])('at %p ms of a 1000 ms window the weight counts %p', (elapsed, factor) => {
    expect(slowStartFactor(10_000 + elapsed, 10_000, 11_000)).toBeCloseTo(factor, 6);
  });

  it('is 1 without a window', () => {
    expect(slowStartFactor(5, 5, 5)).toBe(1);
  });
});
