import { backoffDelay } from './backoff';

describe('backoffDelay', () => {
  const settings = { initialMs: 500, maxMs: 15_000 };
  const middle = () => 0.5;

  it.each([
    [1, 500],
    [2, 1_000],
    [3, 2_000],
    [5, 8_000],
    [6, 15_000],
    [100, 15_000],
  ])('after %p failures waits %p ms (no jitter at the middle draw)', (attempt, expected) => {
    expect(backoffDelay(attempt, settings, middle)).toBe(expected);
  });

  it('spreads by +-20% and never exceeds the cap', () => {
    expect(backoffDelay(1, settings, () => 0)).toBe(400);
    expect(backoffDelay(1, settings, () => 0.999999)).toBe(600);
    expect(backoffDelay(10, settings, () => 0.999999)).toBe(15_000);
  });
});
