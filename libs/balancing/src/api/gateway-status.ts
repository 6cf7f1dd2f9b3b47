/**
 * The wire contract of a gateway's admin `GET /status`, shared by the gateway (which serves it)
 * and the registry's dashboard (which reads every announced replica's).
 */
export interface GatewayPoolStatus {
  /** Slots this gateway holds per backend right now. */
  readonly leases: Record<string, number>;
  /** Exchanges each backend served through this gateway since it started. */
  readonly served: Record<string, number>;
}

export interface GatewayStatus {
  readonly id: string;
  /** Epoch ms the gateway process started. */
  readonly startedAt: number;
  /** `degraded`: the store does not answer in time and picks come from the local view. */
  readonly store: { readonly state: 'up' | 'degraded'; readonly since: number };
  /** Slots held in every pool together. */
  readonly inFlight: number;
  readonly pools: Record<string, GatewayPoolStatus>;
}

export const GATEWAY_STATUS_PATH = '/status';
