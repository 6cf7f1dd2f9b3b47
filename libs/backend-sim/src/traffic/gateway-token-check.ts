import type { IncomingMessage } from 'node:http';
import { Inject, Injectable, Optional } from '@nestjs/common';
import type { BalancerStore } from '@lb/balancing';
import { BALANCER_STORE } from '@lb/balancing/nest';
import { REFUSAL_DETAIL, SeenTokens, splitToken, verifyToken, type TokenCheck, type TokenRefusal } from '@lb/balancing/token';
import { type Logger, problem, type Problem } from '@lb/runtime';
import { BackendIdentity } from '../backend-identity';
import type { BackendSimConfig } from '../backend-sim.env';
import { BACKEND_SIM_CONFIG, BACKEND_SIM_LOGGER } from '../tokens';
import { ActiveConnections, type Arrival } from './active-connections';

/** Polled by orchestrators and dashboards: not traffic, so neither counted as load nor token-checked. */
const UNCOUNTED_PATHS = new Set(['/health', '/health/live', '/health/ready', '/info']);

export function isCounted(url: string | undefined): boolean {
  return !UNCOUNTED_PATHS.has((url ?? '/').split('?', 1)[0]);
}

/** The verdict rewriteUrl stashed on the raw request, for the onRequest hook. */
const VERDICT = Symbol('backend-sim.gateway-token');
type CheckedRequest = IncomingMessage & { [VERDICT]?: TokenCheck };

/** Tolerance of verifyToken for a gateway clock ahead of ours (its default). */
const TOKEN_CLOCK_SKEW_MS = 1_000;

/** How long a failing store keeps quiet after a warning. */
const CLAIM_WARNING_INTERVAL_MS = 60_000;

/** The 403 a refused request gets (the same body as the balancing lib's token guard). */
export function refusalProblem(reason: TokenRefusal): Problem {
  return problem(403, 'gateway-token', REFUSAL_DETAIL[reason], { reason, field: 'lb_token' });
}

/**
 * The backend half of redirect mode (REQUIRE_GATEWAY_TOKEN): a counted request is served only with
 * a valid gateway token for this backend id, method, path and query.
 *
 * - rewriteUrl() runs as Fastify's `rewriteUrl`, synchronously and before routing: it verifies the
 *   token (signature, expiry, backend, method, path and query), stashes the verdict on the raw
 *   request, and hands the router (and the query parser, the handler, the access log) the URL
 *   without `lb_token`, refused or not.
 * - admit() runs in the onRequest hook, once the request is counted: a token id this backend
 *   admitted before is a replay (403 already-used; see SeenTokens). With a store it then takes over
 *   the gateway's pending slot with `claim(pool, id, tokenId, active)`, where `active` already
 *   includes this request (and every other that has arrived), and only then lets the count reach
 *   the reporter. A claim that finds no slot, or a store that cannot be reached, does not stop the
 *   request: the backend's own count covers it (a failing store is logged at most once a minute).
 */
@Injectable()
export class GatewayTokenCheck {
  private readonly log: Logger;
  private lastWarning = -Infinity;
  private readonly seen = new SeenTokens();
  private suppressedWarnings = 0;

  constructor(
    @Inject(BACKEND_SIM_CONFIG) private readonly config: BackendSimConfig,
    private readonly identity: BackendIdentity,
    private readonly connections: ActiveConnections,
    @Inject(BACKEND_SIM_LOGGER) logger: Logger,
    @Optional() @Inject(BALANCER_STORE) private readonly store?: BalancerStore,
  ) {
    this.log = logger.child({ context: 'GatewayToken' });
  }

  get required(): boolean {
    return this.config.REQUIRE_GATEWAY_TOKEN;
  }

  /** For Fastify's `rewriteUrl` option (bootstrapBackendSim wires it). */
  rewriteUrl(req: IncomingMessage): string {
    const url = req.url ?? '/';
    if (!this.required || !isCounted(url)) return url;
    const checked = req as CheckedRequest;
    const check = this.verify(req.method ?? 'GET', url);
    checked[VERDICT] = check;
    // Refused ones too lose the token: they are answered 403 before any handler, and nothing
    // downstream (the access log reads req.url through middie's originalUrl) ever shows a token.
    return check.ok ? check.url : splitToken(url).pathAndQuery;
  }

  /** Checks a request target (an upgrade, or a request rewriteUrl did not see). */
  verify(method: string, url: string): TokenCheck {
    const ring = this.config.REDIRECT_KEYS;
    if (!ring) return { ok: false, reason: 'unknown-key' }; // unreachable: the config requires keys
    return verifyToken(ring, method, url, this.identity.id, Date.now());
  }

  /** The verdict rewriteUrl stashed; checked here if it did not run (fails closed). */
  verdictFor(req: IncomingMessage): TokenCheck {
    return (req as CheckedRequest)[VERDICT] ?? this.verify(req.method ?? 'GET', req.url ?? '/');
  }

  /**
   * Settles a counted arrival: resolves undefined once it is admitted (claimed and reported), or
   * the reason it is refused (it is then already counted off, so it never stays counted).
   */
  async admit(arrival: Arrival, check: TokenCheck): Promise<TokenRefusal | undefined> {
    if (!check.ok) {
      arrival.close(false);
      return check.reason;
    }
    // Single use is this backend's own memory (the token names it, and no other): it holds
    // whatever the store is doing. A clock skew's worth past expiry, verify refuses anyway.
    if (!this.seen.remember(check.tokenId, check.expiresAt + TOKEN_CLOCK_SKEW_MS, Date.now())) {
      arrival.close(false);
      return 'already-used';
    }
    const store = this.store;
    if (!store) {
      arrival.admit();
      return undefined;
    }
    const me = this.identity.current;
    const active = this.connections.active; // includes this request and every other that arrived
    try {
      // False means no pending slot (the gateway decided while its store was away, or the store
      // lost it): nothing to take over, and this backend's own count covers the client.
      await store.claim(me.pool, me.id, check.tokenId, active);
    } catch (err) {
      this.warnClaimFailed(err);
    }
    arrival.admit(active);
    return undefined;
  }

  private warnClaimFailed(err: unknown): void {
    const now = Date.now();
    if (now - this.lastWarning < CLAIM_WARNING_INTERVAL_MS) {
      this.suppressedWarnings++;
      return;
    }
    const suppressed = this.suppressedWarnings;
    this.lastWarning = now;
    this.suppressedWarnings = 0;
    this.log.warn(
      { err: err instanceof Error ? err.message : String(err), suppressed },
      'cannot claim redirect slots (store unreachable): serving; this backend\'s count reaches the store with its next report',
    );
  }
}
