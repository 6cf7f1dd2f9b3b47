import { ConfigError, loadConfig } from '@lb/runtime';
import { BackendSimEnv } from './backend-sim.env';

const TOKEN = 'a-registry-token-0123456789';
const SECRET = Buffer.alloc(32, 7).toString('base64');

describe('BackendSimEnv', () => {
  it('has defaults for a backend that registers', () => {
    expect(loadConfig(BackendSimEnv, { REGISTRY_TOKEN: TOKEN })).toEqual({
      BACKEND_PORT: 8101,
      BACKEND_HOST: '0.0.0.0',
      BACKEND_POOL: 'default',
      BACKEND_WEIGHT: 1,
      BACKEND_SLOWDOWN: 1,
      BACKEND_MAX_WORK_MS: 600_000,
      HTTP_HEADERS_TIMEOUT_MS: 10_000,
      HTTP_REQUEST_TIMEOUT_MS: 30_000,
      BACKEND_REGISTER: true,
      REQUIRE_GATEWAY_TOKEN: false,
      REGISTRY_URL: 'http://127.0.0.1:8090',
      REGISTRY_TOKEN: TOKEN,
      REDIS_KEY_PREFIX: 'lb',
      REDIS_SENTINEL_NAME: 'mymaster',
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'auto',
    });
  });

  it('parses every variable it knows', () => {
    const config = loadConfig(BackendSimEnv, {
      BACKEND_PORT: '0',
      BACKEND_HOST: '127.0.0.1',
      ADVERTISE_URL: 'http://10.0.0.5:8101/',
      PUBLIC_URL: 'https://b1.example',
      BACKEND_ID: 'b-1',
      BACKEND_POOL: 'api',
      BACKEND_WEIGHT: '2.5',
      BACKEND_SLOWDOWN: '3',
      BACKEND_MAX_WORK_MS: '1000',
      BACKEND_REGISTER: 'false',
      REDIS_URL: 'redis://127.0.0.1:6379',
      NOMAD_IP_http: '10.1.1.1',
      NOMAD_PORT_http: '23456',
      UNRELATED: 'ignored',
    });
    expect(config).toMatchObject({
      BACKEND_PORT: 0,
      ADVERTISE_URL: 'http://10.0.0.5:8101',
      PUBLIC_URL: 'https://b1.example',
      BACKEND_WEIGHT: 2.5,
      BACKEND_SLOWDOWN: 3,
      BACKEND_MAX_WORK_MS: 1_000,
      BACKEND_REGISTER: false,
      NOMAD_PORT_http: 23_456,
    });
    expect(config).not.toHaveProperty('UNRELATED');
  });

  it.each([
    [{ BACKEND_PORT: '80a' }, 'BACKEND_PORT="80a": expected a port 0-65535'],
    [{ BACKEND_REGISTER: 'true' }, 'REGISTRY_TOKEN=(unset): required when BACKEND_REGISTER is true'],
    [{ BACKEND_ID: 'has space' }, 'BACKEND_ID="has space": expected 1-128 characters'],
    [{ BACKEND_ID: '{tag}' }, 'BACKEND_ID="{tag}": expected'],
    [{ ADVERTISE_URL: 'http://10.0.0.5:8101/app' }, 'ADVERTISE_URL="http://10.0.0.5:8101/app": expected an origin without path'],
    [{ BACKEND_WEIGHT: '0' }, /^BACKEND_WEIGHT="0": expected a number from 0\.01 to 1000$/],
    [{ BACKEND_WEIGHT: '0.001' }, /^BACKEND_WEIGHT="0\.001": expected a number from 0\.01 to 1000$/],
    [{ BACKEND_WEIGHT: '1e-300' }, /^BACKEND_WEIGHT="1e-300": expected a number from 0\.01 to 1000$/],
    [{ BACKEND_WEIGHT: '5000' }, /^BACKEND_WEIGHT="5000": expected a number from 0\.01 to 1000$/],
    [{ BACKEND_SLOWDOWN: '-1' }, 'BACKEND_SLOWDOWN="-1": expected a positive number'],
    [{ REGISTRY_TOKEN: 'short' }, 'REGISTRY_TOKEN=(hidden): expected a secret of at least 16 characters'],
    [{ REQUIRE_GATEWAY_TOKEN: 'true' }, 'REDIRECT_KEYS=(unset): required when REQUIRE_GATEWAY_TOKEN is true'],
    [{ REQUIRE_GATEWAY_TOKEN: 'maybe' }, 'REQUIRE_GATEWAY_TOKEN="maybe": expected true or false'],
    [{ REDIRECT_KEYS: 'k1:c2hvcnQtc2VjcmV0' }, 'REDIRECT_KEYS=(hidden): key "k1": expected a base64 secret of at least 32 bytes'],
    [{ BACKEND_SLOTS: '0' }, 'BACKEND_SLOTS="0": expected an integer 1-100000'],
    [{ BACKEND_SLOTS: '2.5' }, 'BACKEND_SLOTS="2.5": expected an integer 1-100000'],
  ])('refuses %p with a line naming the variable', (env, message) => {
    const withDefaults = 'BACKEND_REGISTER' in env || 'REGISTRY_TOKEN' in env ? env : { BACKEND_REGISTER: 'false', ...env };
    expect(() => loadConfig(BackendSimEnv, withDefaults)).toThrow(ConfigError);
    expect(() => loadConfig(BackendSimEnv, withDefaults)).toThrow(message);
  });

  it('parses the redirect keys and the worker pool size', () => {
    const config = loadConfig(BackendSimEnv, { BACKEND_REGISTER: 'false', REQUIRE_GATEWAY_TOKEN: 'true', REDIRECT_KEYS: `new:${SECRET}, old:${SECRET}`, BACKEND_SLOTS: '4' });
    expect(config.REQUIRE_GATEWAY_TOKEN).toBe(true);
    expect(config.REDIRECT_KEYS?.keys.map((k) => k.id)).toEqual(['new', 'old']);
    expect(config.BACKEND_SLOTS).toBe(4);
  });

  it('never prints a redirect secret it refuses', () => {
    const secret = 'dG9vLXNob3J0LWJ1dC1zZWNyZXQ';
    let message = '';
    try {
      loadConfig(BackendSimEnv, { BACKEND_REGISTER: 'false', REQUIRE_GATEWAY_TOKEN: 'true', REDIRECT_KEYS: `k:${secret}` });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/^REDIRECT_KEYS=\(hidden\): /);
    expect(message).not.toContain(secret);
  });
});
