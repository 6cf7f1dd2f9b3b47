import { isValidName, NAME_RULE } from '@lb/balancing';

export const MODES = ['proxy', 'redirect'] as const;
export type Mode = (typeof MODES)[number];

export interface Route {
  /** Lowercase host without port; undefined matches any host. */
  readonly host?: string;
  /** Path prefix, starting with "/". */
  readonly prefix: string;
  readonly pool: string;
  readonly mode: Mode;
}

/**
 * GATEWAY_ROUTES: comma-separated `[host]/prefix=pool[:mode]` entries, e.g.
 * `api.example.com/=api, /downloads/=files:redirect, /=default`. A request goes to the route whose
 * host matches (a route naming a host beats one that does not) with the longest matching prefix.
 * A prefix matches whole path segments: `/api` matches `/api`, `/api/x` and `/api?q`, not `/apix`.
 */
export function parseRoutes(value: string | undefined, defaults: { pool: string; mode: Mode }): Route[] {
  if (!value || !value.trim()) return [{ prefix: '/', pool: defaults.pool, mode: defaults.mode }];
  const routes = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry): Route => {
      const eq = entry.lastIndexOf('=');
      if (eq <= 0) throw new Error(`"${entry}": expected [host]/prefix=pool[:mode]`);
      const match = entry.slice(0, eq).trim();
      const [pool, mode = defaults.mode, ...rest] = entry.slice(eq + 1).trim().split(':');
      const slash = match.indexOf('/');
      if (slash < 0) throw new Error(`"${entry}": the path prefix must start with "/"`);
      const host = match.slice(0, slash).toLowerCase() || undefined;
      const prefix = match.slice(slash);
      if (host !== undefined && !/^[a-z0-9.-]+$/.test(host)) throw new Error(`"${entry}": "${host}" is not a host name`);
      if (/[?#\s]/.test(prefix)) throw new Error(`"${entry}": a prefix is a path, without query or fragment`);
      if (!isValidName(pool)) throw new Error(`"${entry}": pool "${pool}": expected ${NAME_RULE}`);
      if (rest.length > 0 || !(MODES as readonly string[]).includes(mode)) throw new Error(`"${entry}": mode "${mode}": expected proxy or redirect`);
      return { host, prefix, pool, mode: mode as Mode };
    });
  const seen = new Set<string>();
  for (const r of routes) {
    const key = `${r.host ?? ''}${r.prefix}`;
    if (seen.has(key)) throw new Error(`"${key}" appears twice`);
    seen.add(key);
  }
  // Most specific first: host routes, then longer prefixes.
  return routes.sort((a, b) => Number(b.host !== undefined) - Number(a.host !== undefined) || b.prefix.length - a.prefix.length);
}

function prefixMatches(prefix: string, url: string): boolean {
  if (!url.startsWith(prefix)) return false;
  if (prefix.endsWith('/') || url.length === prefix.length) return true;
  const next = url[prefix.length];
  return next === '/' || next === '?';
}

/** The route for a request, or undefined when none matches (the gateway answers 404). */
export function matchRoute(routes: readonly Route[], hostHeader: string | undefined, url: string): Route | undefined {
  const host = hostHeader ? hostWithoutPort(hostHeader) : undefined;
  for (const r of routes) {
    if (r.host !== undefined && r.host !== host) continue;
    if (prefixMatches(r.prefix, url)) return r;
  }
  return undefined;
}

function hostWithoutPort(host: string): string {
  const lower = host.toLowerCase();
  if (lower.startsWith('[')) return lower.slice(0, lower.indexOf(']') + 1);
  const colon = lower.indexOf(':');
  return colon < 0 ? lower : lower.slice(0, colon);
}

/** Pools the table sends to (checked against the declared pools at start). */
export function poolsOf(routes: readonly Route[]): string[] {
  return [...new Set(routes.map((r) => r.pool))].sort();
}
