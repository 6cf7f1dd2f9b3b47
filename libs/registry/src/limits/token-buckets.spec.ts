import { TokenBuckets } from './token-buckets';

function buckets(perSecond: number, burst: number) {
  const clock = { now: 0 };
  return { clock, limiter: new TokenBuckets({ perSecond, burst }, () => clock.now) };
}

/** Takes `n` tokens for `key` at the current time; the waits answered (0 = allowed). */
const takeMany = (limiter: TokenBuckets, key: string, n: number) => Array.from({ length: n }, () => limiter.take(key));

describe('TokenBuckets', () => {
  it('allows a burst at once, then refuses with the wait until the next token', () => {
    const { limiter } = buckets(10, 3);
    expect(takeMany(limiter, 'a', 5)).toEqual([0, 0, 0, 100, 100]);
  });

  it.each([
    // [per second, burst, ms between calls, calls, refused]
    [10, 3, 100, 50, 0], // exactly the rate: never refused
    [10, 3, 50, 50, 23], // twice the rate for 2.45 s: 3 + 24 allowed
    [0.5, 1, 1_000, 10, 5], // a fractional rate: one call every two seconds
    [50, 100, 1, 300, 186], // beating every millisecond against the heartbeat defaults: 100 + 15 allowed
  ])('at %p/s with burst %p, calls every %p ms: of %p, %p refused', (perSecond, burst, every, calls, refused) => {
    const { clock, limiter } = buckets(perSecond, burst);
    let count = 0;
    for (let i = 0; i < calls; i++, clock.now += every) if (limiter.take('a') > 0) count++;
    expect(count).toBe(refused);
  });

  it('refills at the rate, never beyond the burst', () => {
    const { clock, limiter } = buckets(10, 3);
    takeMany(limiter, 'a', 3);
    clock.now += 250; // 2.5 tokens
    expect(takeMany(limiter, 'a', 3)).toEqual([0, 0, 50]);
    clock.now += 60_000;
    expect(takeMany(limiter, 'a', 4)).toEqual([0, 0, 0, 100]);
  });

  it('keeps one bucket per key: a key over its limit costs the others nothing', () => {
    const { limiter } = buckets(1, 2);
    expect(takeMany(limiter, 'noisy', 4)).toEqual([0, 0, 1_000, 1_000]);
    expect(takeMany(limiter, 'quiet', 2)).toEqual([0, 0]);
  });

  it('forgets buckets that have refilled, so invented keys do not pile up', () => {
    const { clock, limiter } = buckets(10, 5); // an empty bucket refills in 500 ms
    for (let i = 0; i < 1_000; i++) limiter.take(`made-up-${i}`);
    expect(limiter.size).toBe(1_000);
    clock.now += 499;
    limiter.take('a');
    expect(limiter.size).toBe(1_001);
    clock.now += 1;
    limiter.take('b');
    expect(limiter.size).toBe(2); // a and b
    expect(takeMany(limiter, 'made-up-1', 5)).toEqual([0, 0, 0, 0, 0]); // forgotten = full
  });

  it('refuses a rate or a burst that could never allow a call', () => {
    expect(() => buckets(0, 1)).toThrow(RangeError);
    expect(() => buckets(1, 0)).toThrow(RangeError);
  });
});
