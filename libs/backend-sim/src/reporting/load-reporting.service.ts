import { type BeforeApplicationShutdown, Inject, Injectable, Optional } from '@nestjs/common';
import {
  BackendAgent,
  CoalescedReporter,
  HttpRegistryClient,
  type ActiveReporter,
  type AgentState,
  type BalancerStore,
} from '@lb/balancing';
import { BALANCER_STORE } from '@lb/balancing/nest';
import { BackendIdentity, type BackendIdentityValues } from '../backend-identity';
import type { BackendSimConfig } from '../backend-sim.env';
import type { Logger } from '@lb/runtime';
import { BACKEND_SIM_CONFIG, BACKEND_SIM_LOGGER } from '../tokens';
import { ActiveConnections } from '../traffic/active-connections';

/** How the simulator tells the cluster about itself. */
export type ReportingMode = 'agent' | 'store-only' | 'none';

/**
 * Wires the active count to the cluster once the listener's address is known (start()):
 * - BACKEND_REGISTER=true: the BackendAgent registers, beats and deregisters; count changes go to
 *   the store when this process has one (REDIS_URL or a shared store), else ride on heartbeats.
 * - BACKEND_REGISTER=false with a store: counts go to the store for a record someone else made.
 * - otherwise the count is only shown on /info.
 */
@Injectable()
export class LoadReporting implements BeforeApplicationShutdown {
  private readonly log: Logger;
  private agent: BackendAgent | undefined;
  private reporter: CoalescedReporter | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(
    @Inject(BACKEND_SIM_CONFIG) private readonly config: BackendSimConfig,
    private readonly identity: BackendIdentity,
    private readonly connections: ActiveConnections,
    @Inject(BACKEND_SIM_LOGGER) logger: Logger,
    @Optional() @Inject(BALANCER_STORE) private readonly store?: BalancerStore,
  ) {
    this.log = logger.child({ context: 'BackendAgent' });
  }

  get mode(): ReportingMode {
    return this.config.BACKEND_REGISTER ? 'agent' : this.store ? 'store-only' : 'none';
  }

  get agentState(): AgentState | undefined {
    return this.agent?.state;
  }

  /** The agent registered this backend at least once (readiness). */
  get everRegistered(): boolean {
    return this.agent?.hasRegistered ?? false;
  }

  /** Resolves after the first registration attempt (never waits for a registry that is down). */
  async start(): Promise<void> {
    if (this.agent || this.reporter) return;
    const me = this.identity.current;
    const toStore = this.storeReporter(me);
    if (this.config.BACKEND_REGISTER) {
      if (isLoopback(me.url) && !isLoopback(this.config.REGISTRY_URL)) {
        this.log.warn({ url: me.url, registry: this.config.REGISTRY_URL }, 'advertising a loopback URL to a remote registry: gateways elsewhere cannot reach it (set ADVERTISE_URL)');
      }
      const agent = new BackendAgent({
        client: new HttpRegistryClient({ baseUrl: this.config.REGISTRY_URL, token: this.config.REGISTRY_TOKEN ?? '' }),
        registration: {
          id: me.id,
          pool: me.pool,
          url: me.url,
          publicUrl: me.publicUrl,
          weight: me.weight,
          metadata: { kind: 'backend-sim', slowdown: String(this.config.BACKEND_SLOWDOWN) },
          // Liveness, not readiness: this backend is ready once it has registered, which is what
          // the registry's check decides.
          healthPath: '/health/live',
        },
        reporter: toStore,
        logger: this.log,
      });
      this.agent = agent;
      // `force`: a redirect claim wrote its own count to the store, which the agent's reporter
      // cannot know; its next report then goes out even if it looks unchanged.
      this.unsubscribe = this.connections.onChange((n, force) => agent.setActive(n, force));
      agent.setActive(this.connections.active);
      await agent.start();
    } else if (toStore) {
      const reporter = new CoalescedReporter(toStore, {
        // A report is one small script call; pacing them 5 ms apart keeps a busy backend at a few
        // hundred writes a second while the shared view lags its own count by at most that much.
        minGapMs: 5,
        onFailing: (err, active) => this.log.warn({ active, err: err instanceof Error ? err.message : String(err) }, 'load report to the store failed; retrying'),
        onRecovered: (active) => this.log.info({ active }, 'load reports delivered again'),
      });
      this.reporter = reporter;
      this.unsubscribe = this.connections.onChange((n, force) => (force ? reporter.resend(n) : reporter.set(n)));
      reporter.resend(this.connections.active);
    }
  }

  /** Deregisters (agent) or lets the last report land, before the listener closes. Idempotent. */
  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    await this.agent?.stop();
    if (this.reporter) {
      this.reporter.close();
      await this.reporter.idle();
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  private storeReporter(me: BackendIdentityValues): ActiveReporter | undefined {
    const store = this.store;
    if (!store) return undefined;
    return async (active) => {
      await store.report(me.pool, me.id, active); // false (not registered yet) is healed by the re-send after registering
    };
  }
}

function isLoopback(url: string): boolean {
  const host = new URL(url).hostname;
  return host === 'localhost' || host === '[::1]' || host.startsWith('127.');
}
