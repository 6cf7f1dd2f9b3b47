import { ProblemError } from '@lb/runtime';
import { RateLimits, type RateLimitSettings } from './rate-limits';

const SETTINGS: RateLimitSettings = {
  REGISTRY_HEARTBEATS_PER_S: 10,
  REGISTRY_HEARTBEAT_BURST: 2,
  REGISTRY_REGISTRATIONS_PER_S: 1,
  REGISTRY_REGISTRATION_BURST: 1,
  REGISTRY_ANONYMOUS_REGISTRATIONS_PER_S: 0.5,
  REGISTRY_ANONYMOUS_REGISTRATION_BURST: 1,
};

function setup() {
  const clock = { now: 0 };
  const headers: Record<string, string> = {};
  const reply = { header: (name: string, value: string) => (headers[name] = value) };
  return { clock, headers, reply, limits: new RateLimits(SETTINGS, () => clock.now) };
}

/** The problem a call threw, or undefined when it was allowed. */
function refusal(call: () => void): ProblemError['problem'] | undefined {
  try {
    call();
    return undefined;
  } catch (err) {
    if (err instanceof ProblemError) return err.problem;
    throw err;
  }
}

describe('RateLimits', () => {
  it('refuses a backend that beats too fast with 429 problem+json and Retry-After in whole seconds', () => {
    const { headers, reply, limits } = setup();
    expect(refusal(() => limits.admitHeartbeat('b1', reply))).toBeUndefined();
    expect(refusal(() => limits.admitHeartbeat('b1', reply))).toBeUndefined();
    expect(refusal(() => limits.admitHeartbeat('b1', reply))).toEqual({
      type: 'urn:lb:problem:rate-limited',
      title: 'Too Many Requests',
      status: 429,
      detail: 'backend "b1" sends more than 10 heartbeats a second; retry after 1 s',
      retryAfterS: 1,
    });
    expect(headers['retry-after']).toBe('1');
    expect(refusal(() => limits.admitHeartbeat('b2', reply))).toBeUndefined(); // another backend beats on
  });

  it('counts registrations per id, and those without an id per client address', () => {
    const { clock, headers, reply, limits } = setup();
    expect(refusal(() => limits.admitRegistration('b1', '10.0.0.1', reply))).toBeUndefined();
    expect(refusal(() => limits.admitRegistration('b1', '10.0.0.2', reply))).toMatchObject({ status: 429 });
    expect(refusal(() => limits.admitRegistration(undefined, '10.0.0.1', reply))).toBeUndefined();
    expect(refusal(() => limits.admitRegistration(undefined, '10.0.0.1', reply))).toMatchObject({
      status: 429,
      detail: '10.0.0.1 registers more than 0.5 backends without an id a second; retry after 2 s',
    });
    expect(headers['retry-after']).toBe('2');
    expect(refusal(() => limits.admitRegistration(undefined, '10.0.0.2', reply))).toBeUndefined();
    clock.now += 2_000;
    expect(refusal(() => limits.admitRegistration(undefined, '10.0.0.1', reply))).toBeUndefined();
  });
});
