import { hostname } from 'node:os';
import type { GatewayConfig } from './config';

/**
 * How this gateway names itself to the control plane: its admin URL (known once the admin port is
 * bound) and when it started. LeaseSync announces it with every beat.
 */
export class GatewayPresence {
  readonly startedAt = Date.now();
  private url: string | undefined;

  constructor(private readonly config: GatewayConfig) {}

  get adminUrl(): string | undefined {
    return this.url;
  }

  /** Called once the admin listener is bound to `port`. */
  listening(port: number): void {
    this.url = this.config.GATEWAY_ADMIN_URL ?? (this.config.NOMAD_ADDR_admin ? `http://${this.config.NOMAD_ADDR_admin}` : `http://${advertisedHost(this.config.GATEWAY_HOST)}:${port}`);
  }
}

/** A wildcard bind is reached on this host's name; loopback stays loopback. */
function advertisedHost(bound: string): string {
  if (bound === '0.0.0.0' || bound === '::' || bound === '[::]') return hostname();
  return bound.includes(':') && !bound.startsWith('[') ? `[${bound}]` : bound;
}
