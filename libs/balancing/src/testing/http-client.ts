import { Agent, request } from 'undici';

/** A client agent for tests: many parallel connections, no keep-alive surprises between tests. */
export function testAgent(connections = 512): Agent {
  return new Agent({ connections, keepAliveTimeout: 1_000, headersTimeout: 60_000, bodyTimeout: 60_000 });
}

export interface SimpleResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
  json<T = unknown>(): T;
}

/** One request, body read whole (tests only). */
export async function call(
  agent: Agent,
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: Buffer | string } = {},
): Promise<SimpleResponse> {
  const res = await request(url, {
    dispatcher: agent,
    method: (options.method ?? 'GET') as 'GET',
    headers: options.headers,
    body: options.body,
  });
  const body = Buffer.from(await res.body.arrayBuffer());
  return {
    status: res.statusCode,
    headers: res.headers,
    body,
    json: <T>() => JSON.parse(body.toString()) as T,
  };
}

/** How many responses each backend served, by their x-backend-id header. */
export function countByBackend(responses: readonly SimpleResponse[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of responses) {
    const id = String(r.headers['x-backend-id']);
    counts[id] = (counts[id] ?? 0) + 1;
  }
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it returns true (or throws after `timeoutMs`): for eventual, not timed, effects. */
export async function eventually(probe: () => boolean | Promise<boolean>, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await sleep(20);
  }
}
