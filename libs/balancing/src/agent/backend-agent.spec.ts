import type { HeartbeatResponse, RegisterBackendRequest, RegistrationResponse } from '../api/registry-api';
import { BackendAgent, type BackendAgentOptions } from './backend-agent';
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
    await flushPromises();
    registry.calls.length = 0;
    await scheduler.advance(3_000);
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
    registry.calls.length = 0;
    for (let i = 0; i < 1_000; i++) agent.connectionOpened();
    await flushPromises();
    // The first change goes out at once; the rest ride on one follow-up, 100 ms later (an HTTP
    // heartbeat each, so a busy backend is paced).
    expect(registry.heartbeats()).toEqual([1]);
    await scheduler.advance(100);
    for (let i = 0; i < 990; i++) agent.connectionClosed();
    await scheduler.advance(100);
    expect(registry.heartbeats()).toEqual([1, 1_000, 999, 10]);
  });

  it('re-registers when a count report is answered "unknown"', async () => {
    const { registry, scheduler, agent } = setup();
    await agent.start();
    registry.known.clear();
    agent.setActive(3);
    await scheduler.advance(100);
    // register + count re-sent (0), then the report of 3 finds the record gone: register + re-send 3.
    expect(registry.ops()).toEqual(['register', 'heartbeat', 'heartbeat', 'register', 'heartbeat']);
    expect(registry.calls.at(-1)).toEqual({ op: 'heartbeat', id: 'b1', active: 3 });
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
