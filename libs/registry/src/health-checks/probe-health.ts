import { Agent, request } from 'undici';

/**
 * One health check: GET `path` on the backend's origin; 2xx or 3xx passes, anything else (an error
 * status, a refused or reset connection, no answer within the timeout) fails. Only the status line
 * matters: the body is thrown away.
 */
export async function probeHealth(agent: Agent, origin: string, path: string, timeoutMs: number): Promise<boolean> {
  try {
    const res = await request(`${origin}${path}`, {
      dispatcher: agent,
      method: 'GET',
      headers: { 'user-agent': 'lb-registry-health-check', connection: 'close' },
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
    });
    res.body.resume();
    return res.statusCode >= 200 && res.statusCode < 400;
  } catch {
    return false;
  }
}

/** A dispatcher for health checks: short connect timeout, no keep-alive (a check is a fresh look). */
export function healthCheckAgent(timeoutMs: number): Agent {
  return new Agent({ connect: { timeout: timeoutMs }, pipelining: 0, keepAliveTimeout: 1, keepAliveMaxTimeout: 1 });
}
