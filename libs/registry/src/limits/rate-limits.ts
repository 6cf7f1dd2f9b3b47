import { problem, ProblemError } from '@lb/runtime';
import type { RegistryConfig } from '../config';
import { TokenBuckets } from './token-buckets';

/** Where a refusal writes its Retry-After (the Fastify reply). */
export interface RetryAfterTarget {
  header(name: string, value: string): unknown;
}

export type RateLimitSettings = Pick<
  RegistryConfig,
  | 'REGISTRY_HEARTBEATS_PER_S'
  | 'REGISTRY_HEARTBEAT_BURST'
  | 'REGISTRY_REGISTRATIONS_PER_S'
  | 'REGISTRY_REGISTRATION_BURST'
  | 'REGISTRY_ANONYMOUS_REGISTRATIONS_PER_S'
  | 'REGISTRY_ANONYMOUS_REGISTRATION_BURST'
>;

/**
 * Per-client bounds on the calls that write membership, checked before the store is touched: a
 * client that loops (beats or registers as fast as it can) costs the registry a cheap 429 with
 * Retry-After instead of a store call each time, and every other backend's beats are answered as
 * before. Heartbeats and registrations are counted per backend id; registrations without an id
 * (the registry makes one, so there is no id to count) per client address. Per registry process.
 */
export class RateLimits {
  private readonly heartbeats: TokenBuckets;
  private readonly registrations: TokenBuckets;
  private readonly anonymous: TokenBuckets;

  constructor(
    private readonly settings: RateLimitSettings,
    now: () => number = () => performance.now(),
  ) {
    this.heartbeats = new TokenBuckets({ perSecond: settings.REGISTRY_HEARTBEATS_PER_S, burst: settings.REGISTRY_HEARTBEAT_BURST }, now);
    this.registrations = new TokenBuckets({ perSecond: settings.REGISTRY_REGISTRATIONS_PER_S, burst: settings.REGISTRY_REGISTRATION_BURST }, now);
    this.anonymous = new TokenBuckets(
      { perSecond: settings.REGISTRY_ANONYMOUS_REGISTRATIONS_PER_S, burst: settings.REGISTRY_ANONYMOUS_REGISTRATION_BURST },
      now,
    );
  }

  /** Throws a 429 problem (with Retry-After on `reply`) when backend `id` beats more often than allowed. */
  admitHeartbeat(id: string, reply: RetryAfterTarget): void {
    refuseIfWaiting(this.heartbeats.take(id), reply, `backend "${id}" sends more than ${this.settings.REGISTRY_HEARTBEATS_PER_S} heartbeats a second`);
  }

  /** The same for registrations: per id, or per client `address` when the registry is to make the id. */
  admitRegistration(id: string | undefined, address: string, reply: RetryAfterTarget): void {
    if (id !== undefined) {
      refuseIfWaiting(this.registrations.take(id), reply, `backend "${id}" registers more than ${this.settings.REGISTRY_REGISTRATIONS_PER_S} times a second`);
    } else {
      const rate = this.settings.REGISTRY_ANONYMOUS_REGISTRATIONS_PER_S;
      refuseIfWaiting(this.anonymous.take(address), reply, `${address} registers more than ${rate} backends without an id a second`);
    }
  }
}

function refuseIfWaiting(waitMs: number, reply: RetryAfterTarget, what: string): void {
  if (waitMs === 0) return;
  const seconds = Math.max(1, Math.ceil(waitMs / 1_000)); // Retry-After counts whole seconds
  reply.header('retry-after', String(seconds));
  throw new ProblemError(problem(429, 'rate-limited', `${what}; retry after ${seconds} s`, { title: 'Too Many Requests', retryAfterS: seconds }));
}
