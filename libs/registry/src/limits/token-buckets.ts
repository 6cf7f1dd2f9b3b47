export interface BucketRate {
  /** Tokens added per second: the sustained rate allowed. */
  readonly perSecond: number;
  /** Tokens a bucket holds: how many calls may come at once after a quiet spell. */
  readonly burst: number;
}

interface Bucket {
  tokens: number;
  /** Clock reading when `tokens` was last computed. */
  at: number;
}

/**
 * One token bucket per key (a backend id, a client address) on an injected monotonic clock (ms).
 * take() spends a token or says how long until one is there. A bucket left alone long enough to
 * refill is the same as a new one and is forgotten, so memory holds only the keys seen within the
 * last `burst / perSecond` seconds, whatever a client invents.
 */
export class TokenBuckets {
  /** In order of last spend, oldest first (a spend moves its key to the end). */
  private readonly buckets = new Map<string, Bucket>();
  /** How long an empty bucket takes to fill. */
  private readonly refillMs: number;

  constructor(
    private readonly rate: BucketRate,
    private readonly now: () => number,
  ) {
    if (!(rate.perSecond > 0) || !(rate.burst >= 1)) throw new RangeError('a bucket needs perSecond > 0 and burst >= 1');
    this.refillMs = (rate.burst * 1_000) / rate.perSecond;
  }

  /** 0 when allowed (one token spent); otherwise the ms until a token is there (nothing spent). */
  take(key: string): number {
    const now = this.now();
    this.forgetRefilled(now);
    const bucket = this.buckets.get(key);
    const tokens = bucket ? Math.min(this.rate.burst, bucket.tokens + (Math.max(0, now - bucket.at) * this.rate.perSecond) / 1_000) : this.rate.burst;
    if (tokens < 1) return Math.ceil(((1 - tokens) * 1_000) / this.rate.perSecond);
    this.buckets.delete(key);
    this.buckets.set(key, { tokens: tokens - 1, at: now });
    return 0;
  }

  /** Keys remembered now (for tests of the memory bound). */
  get size(): number {
    return this.buckets.size;
  }

  private forgetRefilled(now: number): void {
    for (const [key, bucket] of this.buckets) {
      if (now - bucket.at < this.refillMs) return; // the rest were spent from later
      this.buckets.delete(key);
    }
  }
}
