import type { RegisterBackendRequest, RegistrationResponse } from '../api/registry-api';
import { errorMessage, silentAgentLogger, type AgentLogger } from './agent-logger';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffSettings } from './backoff';
import { CoalescedReporter, type ActiveReporter } from './coalesced-reporter';
import { retryAfterOf, type RegistryClient } from './registry-client';
import { realScheduler, settleWithin, type Scheduler } from './scheduler';

export interface BackendAgentOptions {
  readonly client: RegistryClient;
  /** What to register. Set `id` (e.g. the Nomad allocation id) so every re-registration keeps it. */
  readonly registration: RegisterBackendRequest;
  /**
   * Where count changes go. Default: a registry heartbeat carrying the count. A backend that can
   * reach the store passes `(n) => store.report(pool, id, n)`: one Redis write, no HTTP hop.
   */
  readonly reporter?: ActiveReporter;
  readonly scheduler?: Scheduler;
  readonly logger?: AgentLogger;
  /** Registration retries while the registry is unreachable. */
  readonly backoff?: BackoffSettings;
  readonly random?: () => number;
  /** Bound on each wait in stop() (the report in flight, the deregistration). */
  readonly stopTimeoutMs?: number;
  /** Delay before re-sending a count whose report failed. */
  readonly reportRetryMs?: number;
  /**
   * Pacing of count reports under a steady stream of changes (see CoalescedReporter). Default:
   * 100 ms when reports go through registry heartbeats (an HTTP request each), 0 for a custom reporter.
   */
  readonly reportMinGapMs?: number;
}

export type AgentState = 'idle' | 'registering' | 'registered' | 'stopped';

/** Count reports that ride on registry heartbeats start at least this far apart. */
const HEARTBEAT_REPORT_GAP_MS = 100;
/** No beat comes sooner than this after the last, whatever the registry advises. */
const MIN_BEAT_INTERVAL_MS = 50;

/**
 * The most heartbeats an agent sends in any one second to a registry that advises
 * `heartbeatIntervalMs`: its beats plus its paced count reports. A registry's heartbeat rate limit
 * (and burst) must allow at least this, or backends that behave are refused.
 */
export function peakHeartbeatsPerSecond(heartbeatIntervalMs: number): number {
  const inOneSecond = (gapMs: number) => Math.floor(1_000 / gapMs) + 1;
  return inOneSecond(Math.max(MIN_BEAT_INTERVAL_MS, heartbeatIntervalMs)) + inOneSecond(HEARTBEAT_REPORT_GAP_MS);
}

/**
 * A backend's side of membership: registers with the registry, beats liveness at the interval the
 * registry advises (each beat carries the active count, which also heals a lost report), registers
 * again (same id) when the registry forgot it, pushes count changes coalesced, and deregisters on
 * stop. Nothing here blocks a backend's start: an unreachable registry is retried in the background.
 */
export class BackendAgent {
  private readonly scheduler: Scheduler;
  private readonly log: AgentLogger;
  private readonly reporter: CoalescedReporter;
  private registration: RegisterBackendRequest;
  private current: RegistrationResponse | undefined;
  private joined = false;
  private active = 0;
  private started = false;
  private stopped = false;
  private stopping: Promise<void> | undefined;
  private registering: Promise<boolean> | undefined;
  private beating: Promise<void> | undefined;
  private failedAttempts = 0;
  private beatFailing = false;
  private beatHandle: unknown;
  private retryHandle: unknown;

  constructor(private readonly options: BackendAgentOptions) {
    this.scheduler = options.scheduler ?? realScheduler;
    this.log = options.logger ?? silentAgentLogger;
    this.registration = options.registration;
    this.reporter = new CoalescedReporter(options.reporter ?? ((n) => this.reportByHeartbeat(n)), {
      scheduler: this.scheduler,
      retryMs: options.reportRetryMs,
      minGapMs: options.reportMinGapMs ?? (options.reporter ? 0 : HEARTBEAT_REPORT_GAP_MS),
      holdOffMs: retryAfterOf,
      onFailing: (err, active) => this.log.warn({ err: errorMessage(err), active }, 'load report failed; retrying'),
      onRecovered: (active) => this.log.info({ active }, 'load reports delivered again'),
    });
  }

  get state(): AgentState {
    if (this.stopped) return 'stopped';
    if (this.current) return 'registered';
    return this.started ? 'registering' : 'idle';
  }

  /** Registered at least once (a backend that joined its pool keeps serving while it registers again). */
  get hasRegistered(): boolean {
    return this.joined;
  }

  /** What the registry answered last (id, pool, heartbeat interval); undefined until registered. */
  get registered(): RegistrationResponse | undefined {
    return this.current;
  }

  /**
   * Registers once. Resolves after that first attempt whether or not it succeeded (failures are
   * logged and retried with capped backoff), so a missing registry never holds up a backend's boot.
   */
  async start(): Promise<void> {
    if (this.started || this.stopped) return;
    this.started = true;
    await this.register('start');
  }

  /**
   * The backend's active count changed; reported coalesced (at most one report in flight).
   * `force`: something else wrote a count into the store (a redirect claim), so the next report is
   * sent even if it equals the last one this agent delivered.
   */
  setActive(active: number, force = false): void {
    this.active = active;
    if (force) this.reporter.resend(active);
    else this.reporter.set(active);
  }

  connectionOpened(): void {
    this.setActive(this.active + 1);
  }

  connectionClosed(): void {
    this.setActive(Math.max(0, this.active - 1));
  }

  /** Stops beating, lets a report in flight finish, deregisters (best effort, bounded). Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    this.stopped = true;
    this.clearTimers();
    this.reporter.close();
    const bound = this.options.stopTimeoutMs ?? 2_500;
    await settleWithin(Promise.all([this.registering, this.beating, this.reporter.idle()]).then(() => undefined), bound, undefined, this.scheduler);
    const id = this.current?.id;
    this.current = undefined;
    if (!id) return;
    try {
      await settleWithin(this.options.client.deregister(id).then(() => true), bound, false, this.scheduler)
        .then((done) => (done ? this.log.info({ id }, 'deregistered') : this.log.warn({ id, timeoutMs: bound }, 'deregistration got no answer in time; the registry will evict this backend')));
    } catch (err) {
      this.log.warn({ id, err: errorMessage(err) }, 'deregistration failed; the registry will evict this backend');
    }
  }

  /** One registration attempt at a time; callers share the attempt in progress. */
  private register(reason: 'start' | 'retry' | 'evicted'): Promise<boolean> {
    if (this.stopped) return Promise.resolve(false);
    this.registering ??= this.attemptRegistration(reason).finally(() => {
      this.registering = undefined;
    });
    return this.registering;
  }

  private async attemptRegistration(reason: string): Promise<boolean> {
    this.clearTimers();
    try {
      const response = await this.options.client.register(this.registration);
      // Keep the id the registry chose, so a later re-registration does not create a second backend.
      this.registration = { ...this.registration, id: response.id };
      this.current = response;
      this.joined = true;
      if (this.stopped) return true; // stop() waits for this attempt, then deregisters
      this.failedAttempts = 0;
      this.log.info({ id: response.id, pool: response.pool, heartbeatIntervalMs: response.heartbeatIntervalMs, reason }, 'registered with the registry');
      this.reporter.resend(this.active); // a new record starts at zero: tell it the real count
      this.scheduleBeat();
      return true;
    } catch (err) {
      this.current = undefined;
      if (this.stopped) return false;
      this.failedAttempts++;
      // A registry that said when to come back (a 429's Retry-After) is not asked sooner.
      const backoff = backoffDelay(this.failedAttempts, this.options.backoff ?? DEFAULT_BACKOFF, this.options.random ?? Math.random);
      const delay = Math.max(backoff, retryAfterOf(err) ?? 0);
      const fields = { err: errorMessage(err), attempt: this.failedAttempts, retryInMs: delay, reason };
      if (this.failedAttempts === 1) this.log.warn(fields, 'registration failed; retrying in the background');
      else this.log.debug(fields, 'registration failed again');
      this.retryHandle = this.scheduler.setTimeout(() => void this.register('retry'), delay);
      return false;
    }
  }

  /** The next beat, one interval from now, or later if the registry asked for a longer wait. */
  private scheduleBeat(retryAfterMs = 0): void {
    if (this.stopped || !this.current) return;
    this.scheduler.clearTimeout(this.beatHandle);
    this.beatHandle = this.scheduler.setTimeout(() => {
      this.beating = this.beat().finally(() => {
        this.beating = undefined;
      });
    }, Math.max(MIN_BEAT_INTERVAL_MS, this.current.heartbeatIntervalMs, retryAfterMs));
  }

  private async beat(): Promise<void> {
    const id = this.current?.id;
    if (this.stopped || !id) return;
    try {
      const answer = await this.options.client.heartbeat(id, this.active);
      if (this.beatFailing) this.log.info({ id }, 'heartbeats answered again');
      this.beatFailing = false;
      if (answer === 'unknown') {
        await this.reregister(id);
        return; // a successful registration schedules the next beat; a failed one retries
      }
    } catch (err) {
      if (!this.beatFailing) this.log.warn({ id, err: errorMessage(err) }, 'heartbeat failed; still beating');
      this.beatFailing = true;
      this.scheduleBeat(retryAfterOf(err));
      return;
    }
    this.scheduleBeat();
  }

  private async reregister(id: string): Promise<void> {
    if (this.stopped) return;
    this.log.warn({ id }, 'the registry no longer knows this backend (evicted?); registering again');
    this.current = undefined;
    await this.register('evicted');
  }

  /** The default reporter: a heartbeat carrying the count (also extends liveness). */
  private async reportByHeartbeat(active: number): Promise<void> {
    const id = this.current?.id;
    // Not registered (yet, or again): the registration that succeeds re-sends the latest count.
    if (!id || this.stopped) return;
    if ((await this.options.client.heartbeat(id, active)) === 'unknown') void this.reregister(id);
  }

  private clearTimers(): void {
    this.scheduler.clearTimeout(this.beatHandle);
    this.scheduler.clearTimeout(this.retryHandle);
    this.beatHandle = undefined;
    this.retryHandle = undefined;
  }
}
