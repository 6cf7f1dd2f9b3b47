import type { HeartbeatResponse, RegisterBackendRequest, RegistrationResponse } from '../api/registry-api';
import { BackendAgent, type BackendAgentOptions, peakHeartbeatsPerSecond } from './backend-agent';
import { FakeScheduler, flushPromises } from './fake-scheduler';
import { RegistryError, type RegistryClient } from './registry-client';

type Call =
  | { op: 'register'; request: RegisterBackendRequest }
  | { op: 'heartbeat'; id: string; active?: number }
  | { op: 'deregister'; id: string };

/** An in-memory registry: knows ids, can be down, can forget (evict) a backend. */
class FakeRegistry implements RegistryClient {
  readonly calls: Call[] = [];
  readonly known = new Set<string>();
  reachable = true;
  /** Answers every call with this refusal until cleared (e.g. a 429). */
  refusal: RegistryError | undefined;
  private generated = 0;

  async register(request: RegisterBackendRequest): Promise<RegistrationResponse> {
    this.calls.push({ op: 'register', request });
    this.assertReachable();
    const id = request.id ?? `gen-${++this.generated}`;
    this.known.add(id);
    return { id, pool: request.pool ?? 'default', livenessDeadline: 0, livenessTtlMs: 3_000, heartbeatIntervalMs: 1_000 };
  }

  async heartbeat(id: string, active?: number): Promise<HeartbeatResponse | 'unknown'> {
    this.calls.push({ op: 'heartbeat', id, active });
    this.assertReachable();
    return this.known.has(id) ? { id, livenessDeadline: 0 } : 'unknown';
  }

  async deregister(id: string): Promise<void> {
    this.calls.push({ op: 'deregister', id });
    this.assertReachable();
    this.known.delete(id);
  }

  ops(): string[] {
    return this.calls.map((c) => c.op);
  }

  heartbeats(): (number | undefined)[] {
    return this.calls.flatMap((c) => (c.op === 'heartbeat' ? [c.active] : []));
  }

  private assertReachable(): void {
    if (!this.reachable) throw new RegistryError('LB_REGISTRY_UNREACHABLE', 'connect ECONNREFUSED');
    if (this.refusal) throw this.refusal;
  }
}

function setup(overrides: Partial<BackendAgentOptions> = {}) {
  const registry = new FakeRegistry();
  const scheduler = new FakeScheduler();
  const agent = new BackendAgent({
    client: registry,
    registration: { id: 'b1', pool: 'p', url: 'http://10.0.0.1:8101' },
    scheduler,
    random: () => 0.5,
    ...overrides,
  });
  return { registry, scheduler, agent };
}

describe('BackendAgent', () => {
  it('registers on start, then beats at the advised interval carrying the active count', async () => {
    const { registry, scheduler, agent } = setup();
    await agent.start();
    expect(agent.state).toBe('registered');
    expect(registry.calls[0]).toEqual({ op: 'register', request: { id: 'b1', pool: 'p', url: 'http://10.0.0.1:8101' } });
    agent.setActive(4);
    await scheduler.advance(100); // reported once the gap after the registration's report has passed
    registry.calls.length = 0;
    await scheduler.advance(2_900);
    expect(registry.calls).toEqual([
      { op: 'heartbeat', id: 'b1', active: 4 },
      { op: 'heartbeat', id: 'b1', active: 4 },
      { op: 'heartbeat', id: 'b1', active: 4 },
    ]);
  });

  it('start() resolves after one failed attempt and keeps registering in the background with capped backoff', async () => {
    const { registry, scheduler, agent } = setup({ backoff: { initialMs: 100, maxMs: 400 } });
    registry.reachable = false;
    await agent.start();
    expect(agent.state).toBe('registering');
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      delays.push(scheduler.pendingDelays()[0]);
      await scheduler.advance(scheduler.pendingDelays()[0]);
    }
    expect(delays).toEqual([100, 200, 400, 400, 400]);
    expect(registry.ops()).toEqual(Array(6).fill('register'));
    agent.setActive(2); // while unregistered: nothing to send yet
    registry.reachable = true;
    await scheduler.advance(400);
    expect(agent.state).toBe('registered');
    // The new registration starts from zero, so the agent re-sends its count at once.
    expect(registry.calls.at(-1)).toEqual({ op: 'heartbeat', id: 'b1', active: 2 });
  });

  it('registers again, with the same id, when a beat finds the registry forgot it', async () => {
    const { registry, scheduler, agent } = setup({ registration: { pool: 'p', url: 'http://10.0.0.1:8101' } });
    await agent.start();
    const id = agent.registered!.id;
    registry.known.clear(); // evicted
    await scheduler.advance(1_000);
    const registrations = registry.calls.flatMap((c) => (c.op === 'register' ? [c.request.id] : []));
    expect(registrations).toEqual([undefined, id]);
    expect(registry.known.has(id)).toBe(true);
    registry.calls.length = 0;
    await scheduler.advance(1_000);
    expect(registry.ops()).toEqual(['heartbeat']);
  });

  it('reports count changes coalesced through heartbeats when no other reporter is given', async () => {
    const { registry, scheduler, agent } = setup();
    await agent.start();
    await scheduler.advance(100);
    registry.calls.length = 0;
    for (let i = 0; i < 1_000; i++) agent.connectionOpened();
    await flushPromises();
    // The first change after a quiet spell goes out at once; the rest ride on one follow-up, 100 ms
    // later (an HTTP heartbeat each, so a busy backend is paced), and so do changes right after it.
    expect(registry.heartbeats()).toEqual([1]);
    await scheduler.advance(100);
    for (let i = 0; i < 990; i++) agent.connectionClosed();
    await scheduler.advance(100);
    expect(registry.heartbeats()).toEqual([1, 1_000, 10]);
  });

  it('re-registers when a count report is answered "unknown"', async () => {
    const { registry, scheduler, agent } = setup();
    await agent.start();
    registry.known.clear();
    agent.setActive(3);
    await scheduler.advance(200);
    // register + count re-sent (0), then the report of 3 finds the record gone: register + re-send 3.
    expect(registry.ops()).toEqual(['register', 'heartbeat', 'heartbeat', 'register', 'heartbeat']);
    expect(registry.calls.at(-1)).toEqual({ op: 'heartbeat', id: 'b1', active: 3 });
  });

  it('never sends more heartbeats in any second than peakHeartbeatsPerSecond, however busy the backend', async () => {
    const { registry, scheduler, agent } = setup();
    const sentAt: number[] = [];
    const heartbeat = registry.heartbeat.bind(registry);
    registry.heartbeat = (id, active) => {
      sentAt.push(scheduler.now);
      return heartbeat(id, active);
    };
    await agent.start();
    // Changes every millisecond, then every 150 ms (each one after the last report has ended).
    for (let t = 0; t < 2_000; t++) {
      agent.setActive(t % 7);
      await scheduler.advance(1);
    }
    for (let t = 0; t < 20; t++) {
      agent.setActive(t);
      await scheduler.advance(150);
    }
    const mostInOneSecond = Math.max(...sentAt.map((from) => sentAt.filter((at) => at >= from && at <= from + 1_000).length));
    expect(mostInOneSecond).toBeLessThanOrEqual(peakHeartbeatsPerSecond(1_000));
    expect(registry.heartbeats().at(-1)).toBe(19); // and the last count arrived
  });

  it('waits out a 429\u2019s Retry-After before registering, beating or reporting again', async () => {
    const { registry, scheduler, agent } = setup();
    registry.refusal = new RegistryError('LB_REGISTRY_REFUSED', 'registry POST /v1/backends answered 429', 429, 5_000);
    await agent.start();
    expect(scheduler.pendingDelays()).toEqual([5_000]); // not the 500 ms backoff
    registry.refusal = undefined;
    await scheduler.advance(5_000);
    expect(agent.state).toBe('registered');

    await scheduler.advance(100); // t = 5100
    registry.refusal = new RegistryError('LB_REGISTRY_REFUSED', 'registry POST /v1/backends/b1/heartbeat answered 429', 429, 3_000);
    agent.setActive(1); // sent at once and refused: the next report waits until 8100
    await flushPromises();
    registry.calls.length = 0;
    await scheduler.advance(2_999);
    // Only the beat due at 6000, refused too: the next one waits until 9000, not the usual 7000.
    expect(registry.heartbeats()).toEqual([1]);
    registry.refusal = undefined;
    await scheduler.advance(1);
    expect(registry.heartbeats()).toEqual([1, 1]); // the held-off report, at 8100
    await scheduler.advance(899);
    expect(registry.heartbeats()).toEqual([1, 1]);
    await scheduler.advance(1);
    expect(registry.heartbeats()).toEqual([1, 1, 1]); // the beat, at 9000
  });

  it('sends changes to a pluggable reporter, while beats still carry the count', async () => {
    const reported: number[] = [];
    const { registry, scheduler, agent } = setup({ reporter: async (n) => void reported.push(n) });
    await agent.start();
    agent.setActive(1);
    agent.setActive(2);
    await flushPromises();
    // 0: the count re-sent after registering; then 1 at once and 2 as the follow-up.
    expect(reported).toEqual([0, 1, 2]);
    await scheduler.advance(1_000);
    expect(registry.heartbeats()).toEqual([2]);
  });

  it('sends a forced count even when it equals the last one delivered (a redirect claim wrote the store)', async () => {
    const reported: number[] = [];
    const { agent } = setup({ reporter: async (n) => void reported.push(n) });
    await agent.start();
    agent.setActive(1);
    await flushPromises();
    agent.setActive(1); // unchanged: nothing to send
    await flushPromises();
    agent.setActive(1, true);
    await flushPromises();
    expect(reported).toEqual([0, 1, 1]);
  });

  it('stop() waits for the report in flight, deregisters and stops beating', async () => {
    let finishReport: () => void = () => undefined;
    const { registry, scheduler, agent } = setup({ reporter: () => new Promise<void>((resolve) => (finishReport = resolve)) });
    await agent.start();
    finishReport();
    await flushPromises();
    agent.setActive(1);
    let stopped = false;
    const stopping = agent.stop().then(() => (stopped = true));
    await flushPromises();
    expect(stopped).toBe(false);
    expect(registry.ops()).not.toContain('deregister');
    finishReport();
    await stopping;
    expect(registry.calls.at(-1)).toEqual({ op: 'deregister', id: 'b1' });
    expect(agent.state).toBe('stopped');
    const before = registry.calls.length;
    await scheduler.advance(10_000);
    expect(registry.calls.length).toBe(before);
    expect(scheduler.pendingDelays()).toEqual([]);
  });

  it('stop() gives up on an unreachable registry without throwing', async () => {
    const { registry, scheduler, agent } = setup();
    await agent.start();
    registry.reachable = false;
    await agent.stop();
    expect(registry.calls.at(-1)).toEqual({ op: 'deregister', id: 'b1' });
    expect(scheduler.pendingDelays()).toEqual([]);
  });

  it('stop() while still trying to register sends nothing more', async () => {
    const { registry, scheduler, agent } = setup();
    registry.reachable = false;
    await agent.start();
    await agent.stop();
    await scheduler.advance(60_000);
    expect(registry.ops()).toEqual(['register']);
  });
});
