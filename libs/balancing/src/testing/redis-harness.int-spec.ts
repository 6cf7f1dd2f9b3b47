import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis, { type RedisOptions } from 'ioredis';
import { startRedis, type RedisServerHandle } from './start-redis';
import { throwawayCertificates } from './tls-certificates';
import { startSentinelGroup, type SentinelGroup } from './start-sentinel';

// Tests of the fault harness itself: real redis-server and sentinel processes, killed, paused
// and restarted by PID. Each test owns its servers; afterAll stops whatever is left.

const clients: Redis[] = [];
const servers: RedisServerHandle[] = [];
const groups: SentinelGroup[] = [];
const tempDirs: string[] = [];

function client(target: string | RedisOptions, options: RedisOptions = {}): Redis {
  const base: RedisOptions = { maxRetriesPerRequest: 3, connectTimeout: 2_000, ...options };
  const c = typeof target === 'string' ? new Redis(target, base) : new Redis({ ...base, ...target });
  c.on('error', () => undefined); // reconnect noise while a server is down
  clients.push(c);
  return c;
}

async function server(...args: Parameters<typeof startRedis>): Promise<RedisServerHandle> {
  const s = await startRedis(...args);
  servers.push(s);
  return s;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

afterAll(async () => {
  for (const c of clients) if (c.status !== 'end') c.disconnect(); // a second disconnect() leaves a 2 s timer behind
  await Promise.all(groups.map((g) => g.stop()));
  await Promise.all(servers.map((s) => s.stop()));
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
}, 30_000);

describe('startRedis', () => {
  it('keeps the zero-argument form: a plain server on a free port, stopped by PID', async () => {
    const redis = await server();
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    expect(redis.password).toBeUndefined();
    const c = client(redis.url);
    await expect(c.ping()).resolves.toBe('PONG');
    c.disconnect();
    const pid = redis.pid;
    await redis.stop();
    expect(redis.running).toBe(false);
    expect(pidAlive(pid)).toBe(false);
  }, 20_000);

  it('replays the append-only file after a SIGKILL, and comes back empty when asked', async () => {
    const redis = await server({ appendonly: true });
    const dir = redis.dir as string;
    expect(dir).toBeDefined();
    const before = client(redis.url);
    await before.set('harness:aof', 'kept');
    before.disconnect();

    const firstPid = redis.pid;
    await redis.kill();
    expect(redis.running).toBe(false);
    await redis.restart();
    expect(redis.pid).not.toBe(firstPid);
    expect(pidAlive(firstPid)).toBe(false);
    const afterKill = client(redis.url);
    await expect(afterKill.get('harness:aof')).resolves.toBe('kept');
    afterKill.disconnect();

    await redis.kill();
    await redis.restart({ empty: true });
    const afterEmpty = client(redis.url);
    await expect(afterEmpty.get('harness:aof')).resolves.toBeNull();
    afterEmpty.disconnect();

    await redis.stop();
    expect(existsSync(dir)).toBe(false); // the temp dir went with the server
  }, 30_000);

  it('answers nothing while paused and answers again after resume', async () => {
    const redis = await server();
    const c = client(redis.url, { commandTimeout: 300, maxRetriesPerRequest: 0 });
    await expect(c.ping()).resolves.toBe('PONG');

    await redis.pause();
    await expect(c.ping()).rejects.toThrow(/timed out/i);
    expect(redis.running).toBe(true);

    await redis.resume();
    await expect(c.ping()).resolves.toBe('PONG');
  }, 20_000);

  it('stops a paused server', async () => {
    const redis = await server();
    await redis.pause();
    const pid = redis.pid;
    await redis.stop();
    expect(pidAlive(pid)).toBe(false);
  }, 20_000);

  it('requires the password and keeps it out of the url', async () => {
    const redis = await server({ password: 's3cret' });
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    expect(redis.password).toBe('s3cret');

    // No retries: ioredis would otherwise keep reconnecting after its ready check fails with NOAUTH.
    const anonymous = client(redis.url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
    await expect(anonymous.get('harness:auth')).rejects.toThrow(/NOAUTH/);

    const authed = client(redis.url, { password: redis.password });
    await expect(authed.set('harness:auth', '1')).resolves.toBe('OK');
  }, 20_000);

  it('serves TLS only, on rediss://', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lb-tls-'));
    tempDirs.push(dir);
    const tls = throwawayCertificates(dir);
    const redis = await server({ tls });
    expect(redis.url).toBe(`rediss://127.0.0.1:${redis.port}`);

    const secure = client(redis.url, { tls: { ca: readFileSync(tls.caFile) } });
    await expect(secure.set('harness:tls', 'yes')).resolves.toBe('OK');
    await expect(secure.get('harness:tls')).resolves.toBe('yes');

    // Plain TCP on the same port is not Redis: the server expects a TLS handshake.
    const plain = client(`redis://127.0.0.1:${redis.port}`, { maxRetriesPerRequest: 0, commandTimeout: 1_000, retryStrategy: () => null });
    await expect(plain.ping()).rejects.toThrow();
  }, 30_000);
});

describe('startSentinelGroup', () => {
  it('fails over to the replica when the master is killed, and the client follows', async () => {
    const group = await startSentinelGroup({ password: 'sentinel-pw' });
    groups.push(group);
    const oldMasterPort = group.master().port;
    const replicaPort = group.replica().port;

    const c = client({ sentinels: [...group.sentinels], name: group.masterName, password: group.password });
    await c.set('harness:sentinel', 'before');
    await expect(c.wait(1, 2_000)).resolves.toBe(1); // on the replica before the master dies

    await group.killMaster();
    const newPort = await group.waitForFailover(30_000);
    expect(newPort).toBe(replicaPort);
    expect(group.master().port).toBe(replicaPort);
    expect(group.replica().port).toBe(oldMasterPort);

    await c.set('harness:sentinel:after', 'after');
    await expect(c.get('harness:sentinel')).resolves.toBe('before');
    const direct = client(group.master().url, { password: group.password });
    await expect(direct.get('harness:sentinel:after')).resolves.toBe('after');

    // The killed master comes back and the sentinels make it a replica of the new master.
    await group.replica().restart();
    await group.waitForReplicaInSync(40_000);
    const rejoined = client(group.replica().url, { password: group.password });
    await expect(rejoined.get('harness:sentinel:after')).resolves.toBe('after');
  }, 90_000);
});
