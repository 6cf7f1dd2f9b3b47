import { type Lease, type LoadStore, type ReserveOptions } from '@lb/balancing';
import type { GatewayConfig } from '../config';
import { Ejections } from './ejections';

/**
 * One pick = one store call (one Redis round trip): the configured policy over the shared view,
 * minus backends this gateway saw refuse connections and those this request already failed on.
 */
export class Picker {
  private readonly ejections: Ejections;
  /** Origin of each backend this gateway has sent to, so its pool can be closed when it leaves. */
  readonly originsById = new Map<string, string>();

  constructor(
    private readonly config: GatewayConfig,
    private readonly store: LoadStore,
  ) {
    this.ejections = new Ejections(config.UPSTREAM_EJECT_MS);
  }

  async pick(pool: string, tried: readonly string[], pending?: ReserveOptions['pending']): Promise<Lease | undefined> {
    const ejected = this.ejections.current();
    const exclude = ejected.length === 0 ? tried : [...new Set([...ejected, ...tried])];
    const options = { exclude, policy: this.config.GATEWAY_POLICY, pending };
    let lease = await this.store.reserve(pool, this.config.gatewayId, options);
    // Every backend ejected: try them anyway rather than refuse (they may be back).
    if (!lease && ejected.length > 0) lease = await this.store.reserve(pool, this.config.gatewayId, { ...options, exclude: tried });
    if (lease) this.originsById.set(lease.backendId, lease.url);
    return lease;
  }

  /** A backend refused a connection: skip it here for UPSTREAM_EJECT_MS. */
  eject(backendId: string): void {
    this.ejections.eject(backendId);
  }
}
