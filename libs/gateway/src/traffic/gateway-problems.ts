import type { UnforwardableReason } from '@lb/proxy';
import { problem, type Problem } from '@lb/runtime';
import type { GatewayConfig } from '../config';

/** Every answer the gateway itself gives, in one place, so HTTP and WebSocket paths say the same. */
export function gatewayProblems(config: GatewayConfig) {
  return {
    invalidTarget: (): Problem =>
      problem(400, 'invalid-target', 'only origin-form request targets (starting with "/") are accepted', {
        field: 'request-target',
        allowed: 'a path starting with "/"',
      }),
    /** A request Node accepted but that cannot be forwarded as sent (see unforwardableReason): never a backend's failure. */
    unforwardable: ({ field, detail, allowed, status }: UnforwardableReason): Problem =>
      problem(status, status === 501 ? 'unsupported-transfer-coding' : 'malformed-request', detail, { field, allowed }),
    tooManySessions: (): Problem =>
      problem(503, 'too-many-sessions', `this gateway holds its limit of ${config.GATEWAY_MAX_SESSIONS} concurrent sessions`),
    bodyTooLarge: (): Problem =>
      problem(413, 'body-too-large', `request bodies are limited to ${config.GATEWAY_MAX_BODY_BYTES} bytes`, {
        field: 'body',
        allowed: `at most ${config.GATEWAY_MAX_BODY_BYTES} bytes`,
      }),
    storeUnavailable: (): Problem => problem(503, 'store-unavailable', 'the load store cannot be reached; try again shortly'),
    noBackend: (pool: string, tried: readonly string[]): Problem =>
      tried.length > 0 // every backend left to try has failed this request already
        ? problem(502, 'upstream-failed', `no backend of pool "${pool}" could be reached (tried ${tried.join(', ')})`)
        : problem(503, 'no-backend', `no live backend in pool "${pool}"`),
    upstreamFailure: (status: 502 | 504, backend: string, code: string): Problem =>
      status === 504
        ? problem(504, 'upstream-timeout', `backend ${backend} did not answer in time`)
        : problem(502, 'upstream-failed', `backend ${backend} failed (${code})`),
  };
}
