import { bool, ConfigError, httpUrl, loadConfig, ms, port, redisUrl, secret, z } from './env';

const Schema = z.object({
  PORT: port.default(8080),
  TIMEOUT_MS: ms.default(1_000),
  UPSTREAM: httpUrl.optional(),
  REDIS_URL: redisUrl.optional(),
  ENABLED: bool.default(false),
  API_TOKEN: secret.optional(),
});

describe('loadConfig', () => {
  it('applies defaults and types', () => {
    expect(loadConfig(Schema, {})).toEqual({ PORT: 8080, TIMEOUT_MS: 1_000, ENABLED: false });
  });

  it('parses valid values, trimming a trailing slash from URLs', () => {
    expect(loadConfig(Schema, { PORT: '0', TIMEOUT_MS: '250', UPSTREAM: 'https://a.example/', ENABLED: 'true', REDIS_URL: 'redis://h:1' })).toEqual({
      PORT: 0,
      TIMEOUT_MS: 250,
      UPSTREAM: 'https://a.example',
      ENABLED: true,
      REDIS_URL: 'redis://h:1',
    });
  });

  it('treats an empty value as unset', () => {
    expect(loadConfig(Schema, { PORT: '' }).PORT).toBe(8080);
  });

  it.each([
    [{ PORT: '80a' }, 'PORT="80a": expected a port 0-65535'],
    [{ PORT: '70000' }, 'PORT="70000": expected a port 0-65535'],
    [{ TIMEOUT_MS: '-1' }, 'TIMEOUT_MS="-1": expected milliseconds'],
    [{ UPSTREAM: 'ftp://x' }, 'UPSTREAM="ftp://x": expected an http:// or https:// URL'],
    [{ REDIS_URL: 'localhost:6379' }, 'REDIS_URL="localhost:6379": expected a redis:// or rediss:// URL'],
    [{ REDIS_URL: 'http://user:s3cret@h:1' }, 'REDIS_URL="http://***@h:1": expected a redis:// or rediss:// URL'],
    [{ UPSTREAM: 'ftp://:s3cret@x' }, 'UPSTREAM="ftp://***@x": expected an http:// or https:// URL'],
    [{ ENABLED: 'maybe' }, 'ENABLED="maybe": expected true or false'],
    [{ API_TOKEN: 'short' }, 'API_TOKEN=(hidden): expected a secret of at least 16 characters'],
  ])('refuses %p with one line naming the variable, value and rule', (env, message) => {
    expect(() => loadConfig(Schema, env)).toThrow(ConfigError);
    expect(() => loadConfig(Schema, env)).toThrow(message);
  });
});
