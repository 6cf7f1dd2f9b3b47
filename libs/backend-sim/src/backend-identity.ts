import { hostname } from 'node:os';
import type { BackendSimConfig } from './backend-sim.env';

/** Who this backend is, as the registry, the gateways and every response header name it. */
export interface BackendIdentityValues {
  readonly id: string;
  readonly pool: string;
  readonly url: string;
  readonly publicUrl: string;
  readonly weight: number;
}

/**
 * BACKEND_ID, else NOMAD_ALLOC_ID, else `sim-<hostname>-<port>` with the port actually bound
 * (several simulators on port 0 in one process get distinct ids; the machine's hostname, not
 * 0.0.0.0, keeps ids distinct across machines).
 */
export function resolveBackendId(config: BackendSimConfig, listeningPort: number, host = hostname()): string {
  if (config.BACKEND_ID) return config.BACKEND_ID;
  if (config.NOMAD_ALLOC_ID) return config.NOMAD_ALLOC_ID;
  const safeHost = host.replace(/[^A-Za-z0-9._:-]/g, '-').replace(/^[^A-Za-z0-9]+/, '') || 'host';
  return `sim-${safeHost}-${listeningPort}`.slice(0, 128);
}

/** ADVERTISE_URL, else Nomad's http address, else http://<host>:<port> (loopback for a wildcard host). */
export function resolveAdvertisedUrl(config: BackendSimConfig, listeningPort: number): string {
  if (config.ADVERTISE_URL) return config.ADVERTISE_URL;
  if (config.NOMAD_IP_http && config.NOMAD_PORT_http) return `http://${hostForUrl(config.NOMAD_IP_http)}:${config.NOMAD_PORT_http}`;
  return `http://${hostForUrl(config.BACKEND_HOST)}:${listeningPort}`;
}

function hostForUrl(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::' || host === '[::]') return '[::1]';
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

export function resolveIdentity(config: BackendSimConfig, listeningPort: number, host?: string): BackendIdentityValues {
  const url = resolveAdvertisedUrl(config, listeningPort);
  return {
    id: resolveBackendId(config, listeningPort, host),
    pool: config.BACKEND_POOL,
    url,
    publicUrl: config.PUBLIC_URL ?? url,
    weight: config.BACKEND_WEIGHT,
  };
}

/**
 * The identity as a provider. With BACKEND_PORT=0 the id and URL depend on the port the listener
 * gets, so bootstrap settles them right after listen(); until then no request can arrive.
 */
export class BackendIdentity {
  private values: BackendIdentityValues;

  constructor(private readonly config: BackendSimConfig) {
    this.values = resolveIdentity(config, config.BACKEND_PORT);
  }

  settle(listeningPort: number): BackendIdentityValues {
    this.values = resolveIdentity(this.config, listeningPort);
    return this.values;
  }

  get id(): string {
    return this.values.id;
  }

  get current(): BackendIdentityValues {
    return this.values;
  }
}
