import { performance } from 'node:perf_hooks';
import { redactQuery, type Logger } from '@lb/runtime';
import type { GatewayConfig } from '../config';
import type { PoolMeters } from '../metrics';

export interface FinishedExchange {
  readonly requestId: string;
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly meters: PoolMeters;
  readonly status: number;
  readonly backend: string | undefined;
  readonly startedAt: number;
  readonly upstreamError: string | undefined;
  readonly kind: 'request' | 'session' | 'redirect';
}

/**
 * Counts exchanges in flight (for the session cap and the drain on shutdown) and records each one
 * that ends: metrics, and one JSON access line with its request id (the query redacted: it may carry
 * credentials, see redactQuery).
 */
export class ExchangeTracker {
  private count = 0;

  constructor(
    private readonly config: GatewayConfig,
    private readonly log: Logger,
  ) {}

  get inFlight(): number {
    return this.count;
  }

  get full(): boolean {
    return this.count >= this.config.GATEWAY_MAX_SESSIONS;
  }

  begin(meters: PoolMeters): void {
    this.count++;
    meters.inFlight++;
  }

  end(x: FinishedExchange): void {
    this.count--;
    x.meters.inFlight--;
    const seconds = (performance.now() - x.startedAt) / 1000;
    x.meters.ended(x.status, seconds, x.backend);
    if (!this.config.GATEWAY_ACCESS_LOG) return;
    this.log.info(
      {
        req: { id: x.requestId, method: x.method, url: redactQuery(x.url) },
        res: { statusCode: x.status },
        pool: x.meters.pool,
        backend: x.backend,
        upstreamError: x.upstreamError,
        durationMs: Math.round(seconds * 1e4) / 10,
      },
      x.kind,
    );
  }
}
