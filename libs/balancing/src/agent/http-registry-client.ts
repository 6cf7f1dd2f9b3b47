import axios, { type AxiosInstance, type AxiosResponse, type Method } from 'axios';
import { z } from 'zod';
import { REGISTRY_PATHS, type HeartbeatResponse, type RegisterBackendRequest, type RegistrationResponse } from '../api/registry-api';
import { RegistryError, type RegistryClient } from './registry-client';

export interface HttpRegistryClientOptions {
  /** e.g. http://127.0.0.1:8090 */
  readonly baseUrl: string;
  /** REGISTRY_TOKEN, sent as `Authorization: Bearer`; never part of an error message. */
  readonly token: string;
  /** Bound on each whole request (connect, send, answer). */
  readonly timeoutMs?: number;
}

const RegistrationBody = z.object({
  id: z.string(),
  pool: z.string(),
  livenessDeadline: z.number(),
  livenessTtlMs: z.number().positive(),
  heartbeatIntervalMs: z.number().positive(),
});
const HeartbeatBody = z.object({ id: z.string(), livenessDeadline: z.number() });

/**
 * The registry over HTTP (axios). Errors are RegistryErrors with one readable line; the axios
 * error is not attached as `cause` because its request config holds the Authorization header,
 * and an error serializer that walks causes would write the token to the logs.
 */
export class HttpRegistryClient implements RegistryClient {
  private readonly http: AxiosInstance;
  private readonly timeoutMs: number;

  constructor(private readonly options: HttpRegistryClientOptions) {
    this.timeoutMs = options.timeoutMs ?? 2_000;
    this.http = axios.create({
      baseURL: options.baseUrl.replace(/\/+$/, ''),
      timeout: this.timeoutMs,
      headers: { authorization: `Bearer ${options.token}`, accept: 'application/json' },
      // Every status is an answer to interpret here, not an exception.
      validateStatus: () => true,
      // The registry is an internal address: an HTTP(S)_PROXY meant for the outside must not apply.
      proxy: false,
      maxRedirects: 0,
      responseType: 'json',
    });
  }

  async register(request: RegisterBackendRequest): Promise<RegistrationResponse> {
    const res = await this.send('POST', REGISTRY_PATHS.backends, request);
    if (res.status !== 201 && res.status !== 200) throw refused('POST', REGISTRY_PATHS.backends, res);
    return parse(RegistrationBody, res, 'POST', REGISTRY_PATHS.backends);
  }

  async heartbeat(id: string, active?: number): Promise<HeartbeatResponse | 'unknown'> {
    const path = REGISTRY_PATHS.heartbeat(id);
    const res = await this.send('POST', path, active === undefined ? {} : { active });
    if (res.status === 404) return 'unknown';
    if (res.status !== 200) throw refused('POST', path, res);
    return parse(HeartbeatBody, res, 'POST', path);
  }

  async deregister(id: string): Promise<void> {
    const path = REGISTRY_PATHS.backend(id);
    const res = await this.send('DELETE', path);
    if (res.status === 204 || res.status === 200 || res.status === 404) return;
    throw refused('DELETE', path, res);
  }

  private async send(method: Method, path: string, body?: unknown): Promise<AxiosResponse> {
    try {
      return await this.http.request({
        method,
        url: path,
        data: body,
        // axios' `timeout` is an idle timeout on the socket; the signal bounds the whole exchange.
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new RegistryError('LB_REGISTRY_UNREACHABLE', `registry ${method} ${this.options.baseUrl}${path}: ${this.describe(err)}`);
    }
  }

  private describe(err: unknown): string {
    const e = err as { code?: unknown; message?: unknown } | null;
    if (e?.code === 'ECONNABORTED' || e?.code === 'ETIMEDOUT' || e?.code === 'ERR_CANCELED') return `no answer within ${this.timeoutMs} ms`;
    const code = typeof e?.code === 'string' ? `${e.code}: ` : '';
    return `${code}${typeof e?.message === 'string' ? e.message : String(err)}`;
  }
}

function refused(method: string, path: string, res: AxiosResponse): RegistryError {
  const body = res.data as { detail?: unknown; title?: unknown } | undefined;
  const detail = typeof body?.detail === 'string' ? body.detail : typeof body?.title === 'string' ? body.title : '';
  return new RegistryError(
    'LB_REGISTRY_REFUSED',
    `registry ${method} ${path} answered ${res.status}${detail ? `: ${detail.slice(0, 300)}` : ''}`,
    res.status,
    parseRetryAfter(res.headers['retry-after']),
  );
}

/** Longest wait a Retry-After may impose: one odd header must not park an agent until it is evicted for good. */
const MAX_RETRY_AFTER_MS = 60_000;

/** A Retry-After header (delay-seconds or an HTTP-date) as ms from `now`; undefined when absent or unreadable. */
export function parseRetryAfter(value: unknown, now = Date.now()): number | undefined {
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const text = value.trim();
  const ms = /^\d+$/.test(text) ? Number(text) * 1_000 : Date.parse(text) - now;
  return Number.isNaN(ms) ? undefined : Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms));
}

function parse<T>(schema: z.ZodType<T>, res: AxiosResponse, method: string, path: string): T {
  const parsed = schema.safeParse(res.data);
  if (parsed.success) return parsed.data;
  throw new RegistryError('LB_REGISTRY_BAD_RESPONSE', `registry ${method} ${path} answered ${res.status} with an unexpected body`, res.status);
}
