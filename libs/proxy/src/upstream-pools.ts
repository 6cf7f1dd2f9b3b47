import { Pool } from 'undici';

export interface UpstreamPoolOptions {
  readonly connectTimeoutMs: number;
  /** Upper bound of open connections to one backend; long-lived sessions each hold one. */
  readonly connectionsPerBackend: number;
  readonly keepAliveTimeoutMs: number;
  /** Longest wait for a response's head once the request is sent. */
  readonly headersTimeoutMs: number;
  /** Longest silence between two chunks of a response body. */
  readonly bodyTimeoutMs: number;
}

/**
 * Keep-alive connection pools, one per backend origin, made on first use and closed when the
 * backend leaves (its in-flight requests finish first).
 */
export class UpstreamPools {
  private readonly pools = new Map<string, Pool>();

  constructor(private readonly options: UpstreamPoolOptions) {}

  get(origin: string): Pool {
    let pool = this.pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, {
        connections: this.options.connectionsPerBackend,
        connectTimeout: this.options.connectTimeoutMs,
        keepAliveTimeout: this.options.keepAliveTimeoutMs,
        headersTimeout: this.options.headersTimeoutMs,
        bodyTimeout: this.options.bodyTimeoutMs,
        pipelining: 1,
      });
      this.pools.set(origin, pool);
    }
    return pool;
  }

  /** Gracefully closes the pool of a backend that left. */
  async retire(origin: string): Promise<void> {
    const pool = this.pools.get(origin);
    if (!pool) return;
    this.pools.delete(origin);
    await pool.close().catch(() => undefined);
  }

  async closeAll(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((p) => p.close().catch(() => undefined)));
  }

  async destroyAll(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((p) => p.destroy().catch(() => undefined)));
  }

  get size(): number {
    return this.pools.size;
  }
}
