import { BackendWeight, NAME_PATTERN, NAME_RULE, WEIGHT_RULE } from '@lb/balancing';
import { parseKeyRing, type KeyRing } from '@lb/balancing/token';
import { REDIS_ENV } from '@lb/balancing/redis';
import { bool, httpUrl, LISTENER_TIMEOUT_ENV, logFormat, logLevel, ms, port, positiveInt, positiveNumber, secret, z } from '@lb/runtime';

/** An origin gateways can reach: the registry refuses a URL with a path, so refuse it here first. */
const originUrl = httpUrl.refine((v) => new URL(v).pathname === '/' && !new URL(v).search && !new URL(v).hash, {
  message: 'expected an origin without path, query or fragment, e.g. http://10.0.0.5:8101',
});
/** `id:base64secret[,id:base64secret]`; a bad value is described without ever echoing a secret. */
const keyRing = z.string().transform((value, ctx): KeyRing => {
  try {
    return parseKeyRing(value);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `${(err as Error).message}; format: id:base64secret[,id:base64secret]` });
    return z.NEVER;
  }
});
const name = z.string().trim().regex(NAME_PATTERN, { message: `expected ${NAME_RULE}` });

/** Every variable the backend simulator reads. */
export const BackendSimEnv = z
  .object({
    BACKEND_PORT: port.default(8101),
    BACKEND_HOST: z.string().trim().min(1).default('0.0.0.0'),
    /** Where gateways reach this backend; default: Nomad's http port, else http://<host>:<port>. */
    ADVERTISE_URL: originUrl.optional(),
    /** Where clients reach it in redirect mode; default: the advertised URL. */
    PUBLIC_URL: originUrl.optional(),
    /** Default: NOMAD_ALLOC_ID, else sim-<hostname>-<port>. */
    BACKEND_ID: name.optional(),
    BACKEND_POOL: name.default('default'),
    /** The registry's range (the wire contract's), so a weight the registry would refuse stops the start instead. */
    BACKEND_WEIGHT: z.string().trim().regex(/^\d+(\.\d+)?$/, { message: WEIGHT_RULE }).transform(Number).pipe(BackendWeight).default(1),
    /** Multiplies /work and /cpu durations: 2 simulates a machine half as fast. */
    BACKEND_SLOWDOWN: positiveNumber.default(1),
    /** Largest ?ms a request may ask for. */
    BACKEND_MAX_WORK_MS: ms.default(600_000),
    /** Slow-client guards (HTTP_HEADERS_TIMEOUT_MS, HTTP_REQUEST_TIMEOUT_MS): they end once a request is read, so long work, polls, SSE and WebSockets are never cut. */
    ...LISTENER_TIMEOUT_ENV,
    /** Run the agent: register with the registry, beat liveness, report load. */
    BACKEND_REGISTER: bool.default(true),
    /**
     * Redirect mode: serve only requests that carry a gateway token for this backend, method, path
     * and query (everything but /health and /info). Backends behind a proxy-mode gateway run without it.
     */
    REQUIRE_GATEWAY_TOKEN: bool.default(false),
    /** Keys that verify gateway tokens (the gateways' REDIRECT_KEYS); required with REQUIRE_GATEWAY_TOKEN. */
    REDIRECT_KEYS: keyRing.optional(),
    /** Worker pool: at most this many /work, /cpu and /session requests at once, the rest queue (FIFO). Unset: no limit. */
    BACKEND_SLOTS: positiveInt(100_000).optional(),
    REGISTRY_URL: httpUrl.default('http://127.0.0.1:8090'),
    REGISTRY_TOKEN: secret.optional(),
    /** With Redis (REDIS_URL or REDIS_SENTINELS), load reports go straight to the store (one write, no HTTP hop). */
    ...REDIS_ENV,
    LOG_LEVEL: logLevel.default('info'),
  LOG_FORMAT: logFormat.default('auto'),
    NOMAD_ALLOC_ID: name.optional(),
    NOMAD_IP_http: z.string().trim().min(1).optional(),
    NOMAD_PORT_http: port.optional(),
  })
  .superRefine((env, ctx) => {
    if (env.REQUIRE_GATEWAY_TOKEN && !env.REDIRECT_KEYS) {
      ctx.addIssue({ code: 'custom', path: ['REDIRECT_KEYS'], message: 'required when REQUIRE_GATEWAY_TOKEN is true; expected id:base64secret[,id:base64secret]' });
    }
    if (env.BACKEND_REGISTER && !env.REGISTRY_TOKEN) {
      ctx.addIssue({
        code: 'custom',
        path: ['REGISTRY_TOKEN'],
        message: 'required when BACKEND_REGISTER is true (set BACKEND_REGISTER=false to run without the registry)',
      });
    }
  });

export type BackendSimConfig = z.infer<typeof BackendSimEnv>;
