import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadConfig, z } from '@lb/runtime';
import { startRedis, throwawayCertificates, type RedisServerHandle } from '../../testing';
import { RedisBalancerStore } from './redis-balancer-store';
import { describeRedis, REDIS_ENV, redisConnectionFrom } from './redis-connection';

const Env = z.object(REDIS_ENV);
const connect = (env: Record<string, string>) => RedisBalancerStore.connect(redisConnectionFrom(loadConfig(Env, env))!, { keyPrefix: `conn-${randomBytes(4).toString('hex')}` });

/** Every app reaches Redis through these variables: a password, an ACL user, TLS with a private CA. */
describe('Redis connection settings (REDIS_*)', () => {
  const servers: RedisServerHandle[] = [];
  const stores: RedisBalancerStore[] = [];
  const dirs: string[] = [];
  const open = (env: Record<string, string>) => {
    const store = connect(env);
    stores.push(store);
    return store;
  };

  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await Promise.all(servers.map((s) => s.stop()));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('authenticates with REDIS_PASSWORD, or with the password in the URL, and is refused without', async () => {
    const password = randomBytes(16).toString('hex');
    const redis = await startRedis({ password });
    servers.push(redis);
    await expect(open({ REDIS_URL: redis.url, REDIS_PASSWORD: password }).ping()).resolves.toBeUndefined();
    await expect(open({ REDIS_URL: redis.url.replace('redis://', `redis://:${password}@`) }).ping()).resolves.toBeUndefined();
    await expect(open({ REDIS_URL: redis.url }).ping()).rejects.toThrow(/NOAUTH/);
  });

  it('logs in as an ACL user with REDIS_USERNAME', async () => {
    const password = randomBytes(16).toString('hex');
    const redis = await startRedis({ args: ['--user', 'default', 'off', '--user', 'lb', 'on', `>${password}`, '~*', '&*', '+@all'] });
    servers.push(redis);
    await expect(open({ REDIS_URL: redis.url, REDIS_USERNAME: 'lb', REDIS_PASSWORD: password }).ping()).resolves.toBeUndefined();
  });

  it('speaks TLS to rediss:// and trusts the server through REDIS_TLS_CA_FILE', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lb-tls-'));
    dirs.push(dir);
    const tls = throwawayCertificates(dir);
    const redis = await startRedis({ tls });
    servers.push(redis);
    expect(redis.url.startsWith('rediss://')).toBe(true);
    await expect(open({ REDIS_URL: redis.url, REDIS_TLS_CA_FILE: tls.caFile }).ping()).resolves.toBeUndefined();
  });

  it('never shows credentials when it describes where Redis is', () => {
    const connection = redisConnectionFrom(loadConfig(Env, { REDIS_URL: 'redis://lb:s3cret@10.0.0.5:6380/2', REDIS_PASSWORD: 'other-s3cret' }))!;
    expect(describeRedis(connection)).toBe('redis://10.0.0.5:6380/2');
    const sentinels = redisConnectionFrom(loadConfig(Env, { REDIS_SENTINELS: 'a:26379,[::1]:26380', REDIS_SENTINEL_PASSWORD: 's3cret' }))!;
    expect(describeRedis(sentinels)).toBe('sentinel master "mymaster" via a:26379,::1:26380');
  });

  it.each([
    [{ REDIS_URL: 'redis://a:1', REDIS_SENTINELS: 'b:2' }, /both set/],
    [{ REDIS_PASSWORD: 'x' }, /REDIS_PASSWORD is set but neither REDIS_URL nor REDIS_SENTINELS/],
    [{ REDIS_URL: 'redis://a:1', REDIS_TLS_CA_FILE: '/etc/hosts' }, /expected a rediss:\/\/ REDIS_URL/],
    [{ REDIS_URL: 'rediss://a:1', REDIS_TLS_CA_FILE: '/nonexistent/ca.pem' }, /cannot be read \(ENOENT\)/],
  ])('refuses %p with a clear line', (env, message) => {
    expect(() => redisConnectionFrom(loadConfig(Env, env))).toThrow(message);
  });

  it('refuses a malformed sentinel list naming the rule', () => {
    expect(() => loadConfig(Env, { REDIS_SENTINELS: 'a:1,b' })).toThrow('REDIS_SENTINELS="a:1,b": expected comma-separated host:port pairs of Redis Sentinels');
  });
});
