import type { HeartbeatResponse, RegisterBackendRequest, RegistrationResponse } from '../api/registry-api';

/** The registry's HTTP API as the agent sees it (see api/registry-api.ts for the wire contract). */
export interface RegistryClient {
  /** POST /v1/backends: adds or replaces this backend (same id keeps its counts). */
  register(request: RegisterBackendRequest): Promise<RegistrationResponse>;
  /** POST /v1/backends/:id/heartbeat; 'unknown' when the registry no longer knows the id (evicted). */
  heartbeat(id: string, active?: number): Promise<HeartbeatResponse | 'unknown'>;
  /** DELETE /v1/backends/:id; an id the registry does not know counts as removed. */
  deregister(id: string): Promise<void>;
}

export type RegistryErrorCode =
  /** No answer: connection refused, DNS, timeout. */
  | 'LB_REGISTRY_UNREACHABLE'
  /** An answer other than the expected one (4xx/5xx): `status` and the problem detail say why. */
  | 'LB_REGISTRY_REFUSED'
  /** A 2xx whose body is not what the contract promises. */
  | 'LB_REGISTRY_BAD_RESPONSE';

export class RegistryError extends Error {
  constructor(
    readonly code: RegistryErrorCode,
    message: string,
    readonly status?: number,
    /** How long the registry asked to be left alone (its Retry-After, e.g. on a 429). */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'RegistryError';
  }
}

/** The wait a refusal asked for (a 429's Retry-After), if any. */
export function retryAfterOf(err: unknown): number | undefined {
  return err instanceof RegistryError ? err.retryAfterMs : undefined;
}
