import { ConfigError, loadConfig } from '@lb/runtime';
import { RegistryEnv } from './config';

const TOKEN = '0123456789abcdef0123';

describe('RegistryEnv', () => {
  it('applies the documented defaults', () => {
    expect(loadConfig(RegistryEnv, { REGISTRY_TOKEN: TOKEN })).toEqual({
      REGISTRY_PORT: 8090,
      REGISTRY_HOST: '0.0.0.0',
      REGISTRY_TOKEN: TOKEN,
      REDIS_KEY_PREFIX: 'lb',
      REDIS_SENTINEL_NAME: 'mymaster',
      EVICTION_MAX_SHARE: 0.5,
      LIVENESS_TTL_MS: 3_000,
      SWEEP_INTERVAL_MS: 500,
      REGISTRY_MAX_BODY_BYTES: 16_384,
      SLOW_START_MS: 0,
      HTTP_HEADERS_TIMEOUT_MS: 10_000,
      HTTP_REQUEST_TIMEOUT_MS: 30_000,
      HEALTH_CHECK_INTERVAL_MS: 2_000,
      HEALTH_CHECK_TIMEOUT_MS: 1_000,
      HEALTH_CHECK_RISE: 2,
      HEALTH_CHECK_FALL: 3,
      REGISTRY_MAX_BACKENDS_PER_POOL: 1_000,
      REGISTRY_HEARTBEATS_PER_S: 50,
      REGISTRY_HEARTBEAT_BURST: 100,
      REGISTRY_REGISTRATIONS_PER_S: 1,
      REGISTRY_REGISTRATION_BURST: 5,
      REGISTRY_ANONYMOUS_REGISTRATIONS_PER_S: 2,
      REGISTRY_ANONYMOUS_REGISTRATION_BURST: 20,
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'auto',
    });
  });

  it('reads every variable', () => {
    const config = loadConfig(RegistryEnv, {
      REGISTRY_TOKEN: TOKEN,
      REGISTRY_PORT: '0',
      REGISTRY_HOST: '127.0.0.1',
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_KEY_PREFIX: 't-1',
      LIVENESS_TTL_MS: '300',
      SWEEP_INTERVAL_MS: '50',
      REGISTRY_MAX_BODY_BYTES: '2048',
      HTTP_HEADERS_TIMEOUT_MS: '2000',
      HTTP_REQUEST_TIMEOUT_MS: '0',
      LOG_LEVEL: 'silent',
    });
    expect(config).toMatchObject({ REGISTRY_PORT: 0, REDIS_URL: 'redis://127.0.0.1:6379', LIVENESS_TTL_MS: 300, HTTP_HEADERS_TIMEOUT_MS: 2_000, HTTP_REQUEST_TIMEOUT_MS: 0, LOG_LEVEL: 'silent' });
  });

  it.each([
    [{}, /^REGISTRY_TOKEN=\(unset\): required/],
    [{ REGISTRY_TOKEN: 'short' }, /^REGISTRY_TOKEN=\(hidden\): expected a secret of at least 16 characters$/],
    [{ REGISTRY_TOKEN: TOKEN, REGISTRY_PORT: '80a' }, /^REGISTRY_PORT="80a": expected a port 0-65535$/],
    [{ REGISTRY_TOKEN: TOKEN, LIVENESS_TTL_MS: '0' }, /^LIVENESS_TTL_MS="0": expected at least 100 ms$/],
    [{ REGISTRY_TOKEN: TOKEN, SWEEP_INTERVAL_MS: 'fast' }, /^SWEEP_INTERVAL_MS="fast": expected milliseconds/],
    [{ REGISTRY_TOKEN: TOKEN, REDIS_URL: 'localhost:6379' }, /^REDIS_URL="localhost:6379": expected a redis/],
    [{ REGISTRY_TOKEN: TOKEN, LOG_LEVEL: 'loud' }, /^LOG_LEVEL="loud": expected one of/],
    [{ REGISTRY_TOKEN: TOKEN, HTTP_HEADERS_TIMEOUT_MS: '0' }, /^HTTP_HEADERS_TIMEOUT_MS="0": expected an integer 1-86400000$/],
    [{ REGISTRY_TOKEN: TOKEN, REGISTRY_MAX_BACKENDS_PER_POOL: '0' }, /^REGISTRY_MAX_BACKENDS_PER_POOL="0": expected an integer 1-100000$/],
    [{ REGISTRY_TOKEN: TOKEN, REGISTRY_REGISTRATIONS_PER_S: 'many' }, /^REGISTRY_REGISTRATIONS_PER_S="many": expected a positive number$/],
    // Below what an agent sends at its rhythm (beats every 1000 ms plus 10 count reports a second).
    [{ REGISTRY_TOKEN: TOKEN, REGISTRY_HEARTBEATS_PER_S: '5' }, /^REGISTRY_HEARTBEATS_PER_S="5": expected at least 13: agents beat every 1000 ms/],
    [{ REGISTRY_TOKEN: TOKEN, LIVENESS_TTL_MS: '150', REGISTRY_HEARTBEAT_BURST: '20' }, /^REGISTRY_HEARTBEAT_BURST="20": expected at least 32: agents beat every 50 ms/],
  ])('refuses %p with one line naming the variable', (env, line) => {
    expect(() => loadConfig(RegistryEnv, env)).toThrow(ConfigError);
    expect(() => loadConfig(RegistryEnv, env)).toThrow(line);
  });
});
