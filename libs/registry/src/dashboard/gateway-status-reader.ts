import { Agent, request } from 'undici';
import { GATEWAY_STATUS_PATH, type GatewayInfo, type GatewayStatus } from '@lb/balancing';
import type { GatewayReading } from './dashboard-snapshot';

/** Largest /status answer read: a gateway with thousands of backends stays well below it. */
const MAX_STATUS_BYTES = 1024 * 1024;

/**
 * Reads the announced gateways' admin `GET /status`, each with a deadline and at most
 * `concurrency` at once, so a replica that vanished (or a large fleet) costs the dashboard one
 * deadline per round, never a pile of open requests. Connections are kept alive between rounds.
 */
export class GatewayStatusReader {
  private readonly agent: Agent;

  constructor(
    private readonly timeoutMs: number,
    private readonly concurrency: number,
  ) {
    this.agent = new Agent({ connect: { timeout: timeoutMs }, connections: 1, keepAliveTimeout: 4_000 });
  }

  async readAll(gateways: readonly GatewayInfo[]): Promise<GatewayReading[]> {
    const readings: GatewayReading[] = new Array(gateways.length);
    let next = 0;
    const worker = async () => {
      while (next < gateways.length) {
        const i = next++;
        readings[i] = await this.read(gateways[i]);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, gateways.length) }, worker));
    return readings;
  }

  async read(info: GatewayInfo): Promise<GatewayReading> {
    try {
      const res = await request(new URL(GATEWAY_STATUS_PATH, info.adminUrl), {
        dispatcher: this.agent,
        method: 'GET',
        headers: { accept: 'application/json', 'user-agent': 'lb-registry-dashboard' },
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      if (res.statusCode !== 200) {
        res.body.resume();
        return { info, problem: `status ${res.statusCode}` };
      }
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > MAX_STATUS_BYTES) {
          res.body.destroy();
          return { info, problem: 'answer too large' };
        }
        chunks.push(chunk);
      }
      const status = JSON.parse(Buffer.concat(chunks).toString('utf8')) as GatewayStatus;
      if (typeof status?.pools !== 'object' || typeof status.store !== 'object') return { info, problem: 'not a gateway status' };
      return { info, status };
    } catch (err) {
      return { info, problem: describe(err) };
    }
  }

  /** Drops every connection, a read still under way included. */
  close(): Promise<void> {
    return this.agent.destroy();
  }
}

function describe(err: unknown): string {
  if (err instanceof SyntaxError) return 'not a gateway status';
  const e = err as { name?: string; code?: string } | null;
  if (e?.name === 'TimeoutError' || e?.code === 'UND_ERR_HEADERS_TIMEOUT' || e?.code === 'UND_ERR_BODY_TIMEOUT' || e?.code === 'UND_ERR_CONNECT_TIMEOUT') return 'no answer in time';
  if (e?.code === 'ECONNREFUSED') return 'connection refused';
  return e?.code ?? e?.name ?? 'unreachable';
}
