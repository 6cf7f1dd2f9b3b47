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
      LOG_LEVEL: 'info',
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
      LOG_LEVEL: 'silent',
    });
    expect(config).toMatchObject({ REGISTRY_PORT: 0, REDIS_URL: 'redis://127.0.0.1:6379', LIVENESS_TTL_MS: 300, LOG_LEVEL: 'silent' });
  });

  it.each([
    [{}, /^REGISTRY_TOKEN=\(unset\): required/],
    [{ REGISTRY_TOKEN: 'short' }, /^REGISTRY_TOKEN=\(hidden\): expected a secret of at least 16 characters$/],
    [{ REGISTRY_TOKEN: TOKEN, REGISTRY_PORT: '80a' }, /^REGISTRY_PORT="80a": expected a port 0-65535$/],
    [{ REGISTRY_TOKEN: TOKEN, LIVENESS_TTL_MS: '0' }, /^LIVENESS_TTL_MS="0": expected at least 100 ms$/],
    [{ REGISTRY_TOKEN: TOKEN, SWEEP_INTERVAL_MS: 'fast' }, /^SWEEP_INTERVAL_MS="fast": expected milliseconds/],
    [{ REGISTRY_TOKEN: TOKEN, REDIS_URL: 'localhost:6379' }, /^REDIS_URL="localhost:6379": expected a redis/],
    [{ REGISTRY_TOKEN: TOKEN, LOG_LEVEL: 'loud' }, /^LOG_LEVEL="loud": expected one of/],
  ])('refuses %p with one line naming the variable', (env, line) => {
    expect(() => loadConfig(RegistryEnv, env)).toThrow(ConfigError);
    expect(() => loadConfig(RegistryEnv, env)).toThrow(line);
  });
});
