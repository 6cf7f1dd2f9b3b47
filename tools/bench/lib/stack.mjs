// Starts the pieces of each topology from the production builds (dist/apps/*/main.js) and the
// peers (nginx, HAProxy) from configs written under the scratch dir. Every start returns a handle
// with the child (stopped by PID) and the URLs; readiness is checked over HTTP, never assumed.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, httpJson, sleep, waitUntil } from './net.mjs';
import { startChild } from './procs.mjs';

/**
 * @typedef {object} BenchContext
 * @property {string} root      repository root
 * @property {string} scratch   .bench/ (gitignored)
 * @property {string} logs      .bench/logs/<run>
 * @property {string} confs     .bench/conf/<run>
 * @property {boolean} quick
 * @property {Record<string, any>} versions
 * @property {{nginx: boolean, haproxy: boolean, wrk: boolean}} tools
 */

/** Only what a process needs from our environment, so a REDIS_URL in the shell never leaks in. */
function baseEnv() {
  const keep = ['PATH', 'HOME', 'LANG', 'TMPDIR', 'TZ'];
  /** @type {Record<string,string>} */
  const env = { NODE_ENV: 'production' };
  for (const k of keep) if (process.env[k]) env[k] = /** @type {string} */ (process.env[k]);
  return env;
}

/** Logging settings shared by every process of ours: warnings only, no access log. */
const QUIET = { LOG_LEVEL: 'warn', GATEWAY_ACCESS_LOG: 'false' };

/** A random bearer token for the registry (at least 16 characters). */
export const randomToken = () => randomBytes(18).toString('base64url');

/** `id:base64(32 random bytes)` for REDIRECT_KEYS. */
export const randomRedirectKeys = () => `k1:${randomBytes(32).toString('base64')}`;

/**
 * Which external tools are on PATH.
 * @returns {{nginx: boolean, haproxy: boolean, wrk: boolean, redis: boolean}}
 */
export function detectTools() {
  const has = (/** @type {string} */ bin) => {
    try {
      execFileSync('bash', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  return { nginx: has('nginx'), haproxy: has('haproxy'), wrk: has('wrk'), redis: has('redis-server') };
}

/**
 * redis-server on a loopback port (free unless given), no persistence by default. With `dir` and
 * `appendonly`, it keeps an append-only file (fsync on every write) under `dir`, so it can be
 * killed and restarted from it (`restart()`) or restarted empty (`restart({empty: true})`) on the
 * same port; `replicaOf` makes it a replica of another loopback Redis (Sentinel topology).
 * @param {BenchContext} ctx
 * @param {string} name
 * @param {{port?: number, dir?: string, appendonly?: boolean, replicaOf?: number}} [opts]
 */
export async function startRedis(ctx, name, opts = {}) {
  const port = opts.port ?? (await freePort());
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--maxclients', '10000'];
  // Always a dir under the scratch dir: a replica writes the snapshot it syncs from its master
  // into its working directory, which would otherwise be the repository.
  const dir = opts.dir ?? join(ctx.scratch, 'data', name);
  mkdirSync(dir, { recursive: true });
  args.push('--dir', dir);
  if (opts.appendonly) {
    if (!opts.dir) throw new Error(`${name}: appendonly needs a data dir under the scratch dir`);
    args.push('--appendonly', 'yes', '--appendfsync', 'always');
  } else args.push('--appendonly', 'no');
  if (opts.replicaOf) args.push('--replicaof', '127.0.0.1', String(opts.replicaOf));
  let starts = 0;
  const launch = async () => {
    const c = startChild(starts++ ? `${name}#${starts}` : name, 'redis-server', args, { env: baseEnv(), logFile: join(ctx.logs, `${name}.log`) });
    await c.waitForOutput(/Ready to accept connections/, 30_000);
    return c;
  };
  let child = await launch();
  const url = `redis://127.0.0.1:${port}`;
  /** @type {Redis | null} */
  let client = null;
  const connect = () => {
    if (!client) {
      client = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 2 });
      client.on('error', () => undefined); // Redis stopping before this client is closed is expected
    }
    return client;
  };
  return {
    name,
    port,
    url,
    dir: opts.dir,
    get child() {
      return child;
    },
    /** INFO commandstats as {command: calls}. */
    async commandstats() {
      const text = await connect().info('commandstats');
      /** @type {Record<string, number>} */
      const out = {};
      for (const line of text.split('\n')) {
        const m = line.match(/^cmdstat_([^:]+):calls=(\d+)/);
        if (m) out[m[1]] = Number(m[2]);
      }
      return out;
    },
    /**
     * Starts it again on the same port and data dir once it has exited (after a kill); `empty`
     * deletes its append-only file and snapshot first. Resolves when it accepts connections.
     * @param {{empty?: boolean}} [o]
     */
    async restart(o = {}) {
      if (!child.done) throw new Error(`${name} is still running (PID ${child.pid}): kill it first`);
      if (o.empty && opts.dir) for (const f of ['appendonlydir', 'dump.rdb']) rmSync(join(opts.dir, f), { recursive: true, force: true });
      child = await launch();
    },
    async stop() {
      /** @type {Redis | null} */ (client)?.disconnect();
      await child.stop();
    },
  };
}

/**
 * The registry app (separate process) on a Redis store: `redisUrl`, or whatever `env` names (e.g.
 * REDIS_SENTINELS / REDIS_SENTINEL_NAME). `port`: a fixed port (a restart on the same address).
 * @param {BenchContext} ctx
 * @param {{name?: string, redisUrl?: string, prefix: string, token: string, port?: number, env?: Record<string,string>}} o
 */
export async function startRegistry(ctx, o) {
  const port = o.port ?? (await freePort());
  const name = o.name ?? 'registry';
  const child = startChild(name, process.execPath, [join(ctx.root, 'dist/apps/registry/main.js')], {
    env: { ...baseEnv(), ...QUIET, REGISTRY_PORT: String(port), REGISTRY_HOST: '127.0.0.1', REGISTRY_TOKEN: o.token, ...(o.redisUrl ? { REDIS_URL: o.redisUrl } : {}), REDIS_KEY_PREFIX: o.prefix, ...(o.env ?? {}) },
    logFile: join(ctx.logs, `${name}.log`),
  });
  const url = `http://127.0.0.1:${port}`;
  await waitHttpOk(child, `${url}/health`, 20_000);
  return { name, url, port, child, stop: () => child.stop() };
}

/**
 * @typedef {object} BackendHandle
 * @property {string} id
 * @property {string} url
 * @property {number} port
 * @property {number} slots      0 = unlimited (no BACKEND_SLOTS)
 * @property {number} slowdown
 * @property {import('./procs.mjs').Child} child
 * @property {() => Promise<any>} info
 * @property {() => Promise<void>} stop
 */

/**
 * One backend-sim process. With `redisUrl` its agent reports load straight into Redis; without,
 * through registry heartbeats.
 * @param {BenchContext} ctx
 * @param {{id: string, pool?: string, port?: number, registryUrl: string, token: string, redisUrl?: string, prefix?: string, slots?: number, slowdown?: number, nofile?: number, env?: Record<string,string>}} o
 * @returns {Promise<BackendHandle>}
 */
export async function startBackend(ctx, o) {
  const port = o.port ?? (await freePort());
  /** @type {Record<string,string>} */
  const env = {
    ...baseEnv(),
    ...QUIET,
    BACKEND_PORT: String(port),
    BACKEND_HOST: '127.0.0.1',
    BACKEND_ID: o.id,
    BACKEND_POOL: o.pool ?? 'default',
    REGISTRY_URL: o.registryUrl,
    REGISTRY_TOKEN: o.token,
    BACKEND_SLOWDOWN: String(o.slowdown ?? 1),
    ...(o.redisUrl ? { REDIS_URL: o.redisUrl, REDIS_KEY_PREFIX: o.prefix ?? 'lb' } : {}),
    ...(o.slots ? { BACKEND_SLOTS: String(o.slots) } : {}),
    ...(o.env ?? {}),
  };
  const child = startChild(`backend-${o.id}`, process.execPath, [join(ctx.root, 'dist/apps/backend-sim/main.js')], {
    env,
    logFile: join(ctx.logs, `backend-${o.id}.log`),
    nofile: o.nofile,
  });
  const url = `http://127.0.0.1:${port}`;
  await waitHttpOk(child, `${url}/info`, 20_000);
  return {
    id: o.id,
    url,
    port,
    slots: o.slots ?? 0,
    slowdown: o.slowdown ?? 1,
    child,
    info: async () => (await httpJson(`${url}/info`)).body,
    stop: () => child.stop(),
  };
}

/**
 * Waits until the registry lists every id in `pool` as alive.
 * @param {string} registryUrl
 * @param {string} pool
 * @param {string[]} ids
 * @param {number} [timeoutMs]
 */
/**
 * The throughput scenario's backend (tools/bench/fast-backend.mjs: 64 bytes, nothing else), joined
 * to each given registry through the HTTP API and kept alive by beats from this process (an
 * agentless backend: the gateways' own counts are exact for it).
 * @param {BenchContext} ctx
 * @param {{id: string, registries: {url: string, token: string, pool: string}[]}} o
 */
export async function startFastBackend(ctx, o) {
  const port = await freePort();
  const child = startChild(`fast-${o.id}`, process.execPath, [join(ctx.root, 'tools/bench/fast-backend.mjs')], {
    env: { ...baseEnv(), FAST_PORT: String(port), FAST_ID: o.id },
    logFile: join(ctx.logs, `fast-${o.id}.log`),
  });
  await child.waitForOutput(/listening/, 10_000);
  const url = `http://127.0.0.1:${port}`;
  /** @type {NodeJS.Timeout[]} */
  const beats = [];
  for (const r of o.registries) {
    const headers = { authorization: `Bearer ${r.token}`, 'content-type': 'application/json' };
    const joined = await httpJson(`${r.url}/v1/backends`, { method: 'POST', headers, body: JSON.stringify({ id: o.id, url, pool: r.pool }) });
    if (joined.status !== 201) throw new Error(`registering ${o.id} with ${r.url}: ${joined.status} ${JSON.stringify(joined.body)}`);
    const every = /** @type {any} */ (joined.body).heartbeatIntervalMs ?? 1_000;
    const beat = setInterval(() => void httpJson(`${r.url}/v1/backends/${o.id}/heartbeat`, { method: 'POST', headers, body: '{}' }).catch(() => undefined), every);
    beat.unref();
    beats.push(beat);
  }
  return {
    id: o.id,
    url,
    port,
    child,
    stop: async () => {
      for (const beat of beats) clearInterval(beat);
      await child.stop();
    },
  };
}

export async function waitRegistered(registryUrl, pool, ids, timeoutMs = 15_000) {
  await waitUntil(
    `backends ${ids.join(', ')} registered in pool ${pool}`,
    async () => {
      const r = await httpJson(`${registryUrl}/v1/backends?pool=${encodeURIComponent(pool)}`);
      const listed = new Set((r.body?.backends ?? []).filter((/** @type {any} */ b) => b.alive !== false && b.state === 'active').map((/** @type {any} */ b) => b.id));
      return ids.every((id) => listed.has(id));
    },
    timeoutMs,
    100,
  );
}

/**
 * @typedef {object} GatewayHandle
 * @property {string} name
 * @property {string} url
 * @property {string} adminUrl
 * @property {number} port
 * @property {number} adminPort
 * @property {import('./procs.mjs').Child} child
 * @property {() => Promise<void>} stop
 */

/**
 * One gateway process (traffic + admin listener) on Redis (`redisUrl`, or the variables in `env`).
 * `port` / `adminPort`: fixed ports (a replacement on the same address); `nodeArgs`: node flags
 * before the script (e.g. --cpu-prof).
 * @param {BenchContext} ctx
 * @param {{name: string, redisUrl?: string, prefix: string, pool?: string, mode?: 'proxy'|'redirect', redirectKeys?: string, nofile?: number, port?: number, adminPort?: number, env?: Record<string,string>, nodeArgs?: string[]}} o
 * @returns {Promise<GatewayHandle>}
 */
export async function startGateway(ctx, o) {
  const [port, adminPort] = [o.port ?? (await freePort()), o.adminPort ?? (await freePort())];
  const child = startChild(o.name, process.execPath, [...(o.nodeArgs ?? []), join(ctx.root, 'dist/apps/gateway/main.js')], {
    env: {
      ...baseEnv(),
      ...QUIET,
      GATEWAY_PORT: String(port),
      GATEWAY_ADMIN_PORT: String(adminPort),
      GATEWAY_HOST: '127.0.0.1',
      GATEWAY_ID: o.name,
      GATEWAY_POOL: o.pool ?? 'default',
      GATEWAY_MODE: o.mode ?? 'proxy',
      ...(o.redisUrl ? { REDIS_URL: o.redisUrl } : {}),
      REDIS_KEY_PREFIX: o.prefix,
      ...(o.redirectKeys ? { REDIRECT_KEYS: o.redirectKeys } : {}),
      ...(o.env ?? {}),
    },
    logFile: join(ctx.logs, `${o.name}.log`),
    nofile: o.nofile,
  });
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  await waitHttpOk(child, `${adminUrl}/health`, 20_000);
  return { name: o.name, url: `http://127.0.0.1:${port}`, adminUrl, port, adminPort, child, stop: () => child.stop() };
}

/**
 * The all-in-one build on the in-memory store: registry + gateway in one process, no in-process
 * backends (STANDALONE_BACKENDS=0). If this build does not accept 0 yet, it runs one in-process
 * backend and the bench drains it through the registry so it takes no traffic (noted in results).
 * `nodeArgs`: node flags before the script (e.g. --cpu-prof).
 * @param {BenchContext} ctx
 * @param {{name: string, token: string, nodeArgs?: string[]}} o
 */
export async function startStandalone(ctx, o) {
  const [port, adminPort, regPort] = [await freePort(), await freePort(), await freePort()];
  const env = {
    ...baseEnv(),
    ...QUIET,
    GATEWAY_PORT: String(port),
    GATEWAY_ADMIN_PORT: String(adminPort),
    GATEWAY_HOST: '127.0.0.1',
    GATEWAY_ID: o.name,
    REGISTRY_PORT: String(regPort),
    REGISTRY_HOST: '127.0.0.1',
    REGISTRY_TOKEN: o.token,
    STANDALONE_BACKENDS: '0',
    BACKEND_PORT: '0',
  };
  const registryUrl = `http://127.0.0.1:${regPort}`;
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  let note = '';
  let child = startChild(o.name, process.execPath, [...(o.nodeArgs ?? []), join(ctx.root, 'dist/apps/standalone/main.js')], { env, logFile: join(ctx.logs, `${o.name}.log`) });
  const first = await Promise.race([waitHttpOk(child, `${adminUrl}/health`, 20_000).then(() => 'up'), child.exited.then(() => 'exited')]).catch((e) => e);
  if (first === 'exited' && /STANDALONE_BACKENDS/.test(child.tail)) {
    note = 'this standalone build rejects STANDALONE_BACKENDS=0: ran it with 1 in-process backend, drained through the registry before measuring';
    child = startChild(`${o.name}-retry`, process.execPath, [...(o.nodeArgs ?? []), join(ctx.root, 'dist/apps/standalone/main.js')], {
      env: { ...env, STANDALONE_BACKENDS: '1' },
      logFile: join(ctx.logs, `${o.name}.log`),
    });
    await waitHttpOk(child, `${adminUrl}/health`, 20_000);
    await waitUntil('in-process backend sim-1 registered', async () => (await httpJson(`${registryUrl}/v1/backends/sim-1`)).status === 200, 10_000);
    const r = await httpJson(`${registryUrl}/v1/backends/sim-1/drain`, { method: 'POST', headers: { authorization: `Bearer ${o.token}` } });
    if (r.status >= 300) throw new Error(`could not drain the standalone's in-process backend: ${r.status} ${JSON.stringify(r.body)}`);
  } else if (first !== 'up') {
    throw first instanceof Error ? first : new Error(`${o.name} exited: ${child.tail.slice(-500)}`);
  }
  const c = child;
  return { name: o.name, url: `http://127.0.0.1:${port}`, adminUrl, registryUrl, token: o.token, child: c, note, stop: () => c.stop() };
}

/**
 * The bare Node proxy of tools/bench/floor-proxy.mjs (local least-connections, nothing else) in
 * front of the given backends: the reference row of the throughput and latency scenarios.
 * @param {BenchContext} ctx
 * @param {{name: string, backendUrls: string[]}} o
 */
export async function startFloorProxy(ctx, o) {
  const port = await freePort();
  const child = startChild(o.name, process.execPath, [join(ctx.root, 'tools/bench/floor-proxy.mjs')], {
    env: { ...baseEnv(), FLOOR_PORT: String(port), FLOOR_UPSTREAMS: o.backendUrls.join(',') },
    logFile: join(ctx.logs, `${o.name}.log`),
  });
  const url = `http://127.0.0.1:${port}`;
  await waitHttpOk(child, `${url}/info`, 10_000);
  return { name: o.name, url, child, stop: () => child.stop() };
}

/**
 * Waits until `url` answers 2xx, failing fast if the child exits.
 * @param {import('./procs.mjs').Child} child
 * @param {string} url
 * @param {number} timeoutMs
 */
export async function waitHttpOk(child, url, timeoutMs) {
  await waitUntil(
    `${child.name} at ${url}`,
    async () => {
      if (child.done) throw new Error(`${child.name} exited: ${child.tail.slice(-800)}`);
      const r = await httpJson(url, { timeoutMs: 1_000 });
      return r.status >= 200 && r.status < 300;
    },
    timeoutMs,
    100,
  ).catch((err) => {
    if (child.done) throw new Error(`${child.name} exited during start: ${child.tail.slice(-800)}`);
    throw err;
  });
}

/**
 * Sends probes through a balancer until one reaches a backend (membership loaded everywhere).
 * @param {string} url
 * @param {number} [timeoutMs]
 */
export async function waitRoutable(url, timeoutMs = 15_000) {
  await waitUntil(`a backend answering through ${url}`, async () => (await httpJson(`${url}/info`, { timeoutMs: 2_000 })).status === 200, timeoutMs, 100);
}

// ---------------------------------------------------------------- peers

/** The nginx settings the report quotes. */
export const NGINX_NOTES = [
  'worker_processes 1 (like-for-like with one single-threaded Node gateway process; on 2 cores shared with the load generator and the backends, more workers only contend)',
  'upstream: least_conn; keepalive 64; keepalive_requests 100000; max_fails=0 on each server',
  'proxy_http_version 1.1; proxy_set_header Connection $connection_upgrade (a map: "" for plain requests, i.e. Connection "", so upstream keep-alive works; "upgrade" for WebSockets); proxy_set_header Upgrade $http_upgrade',
  'access_log off; error_log at warn; proxy_read_timeout/proxy_send_timeout 3600s; client keepalive_requests 100000',
];

/**
 * @param {string} dir
 * @param {number} port
 * @param {string[]} backends  origins http://127.0.0.1:P
 */
function nginxConf(dir, port, backends) {
  const servers = backends.map((b) => `    server ${new URL(b).host} max_fails=0;`).join('\n');
  return `# written by tools/bench (do not edit: rewritten every run)
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
worker_rlimit_nofile 19000;
events { worker_connections 9000; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  keepalive_requests 100000;
  keepalive_timeout 65s;
  map $http_upgrade $connection_upgrade { default upgrade; '' ''; }
  upstream backends {
    least_conn;
${servers}
    keepalive 64;
    keepalive_requests 100000;
  }
  server {
    listen 127.0.0.1:${port} backlog=4096;
    location / {
      proxy_pass http://backends;
      proxy_http_version 1.1;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Upgrade $http_upgrade;
      proxy_read_timeout 3600s;
      proxy_send_timeout 3600s;
    }
  }
}
`;
}

/**
 * An nginx master + 1 worker balancing `backends`; `reload(backends)` rewrites the config and
 * sends SIGHUP (graceful reload: old workers finish their connections, new workers start counting
 * from zero, as in production).
 * @param {BenchContext} ctx
 * @param {{name: string, backends: string[]}} o
 */
export async function startNginx(ctx, o) {
  const dir = join(ctx.confs, o.name);
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, nginxConf(dir, port, o.backends));
  const child = startChild(o.name, 'nginx', ['-p', dir, '-c', conf, '-g', 'daemon off;'], { env: baseEnv(), logFile: join(ctx.logs, `${o.name}.log`) });
  const url = `http://127.0.0.1:${port}`;
  await waitHttpOk(child, `${url}/info`, 10_000);
  return {
    name: o.name,
    url,
    child,
    conf,
    /** @param {string[]} backends */
    async reload(backends) {
      writeFileSync(conf, nginxConf(dir, port, backends));
      process.kill(child.pid, 'SIGHUP');
      await sleep(200);
    },
    stop: () => child.stop('SIGTERM'),
  };
}

/** The HAProxy settings the report quotes. */
export const HAPROXY_NOTES = [
  'nbthread 1 (same reason as nginx: one Node event loop vs one HAProxy thread on a 2-core machine)',
  'mode http; balance leastconn; http-reuse safe; option http-keep-alive (default); no log lines (no log/option httplog)',
  'timeout connect 1s, client/server/tunnel 3600s, http-keep-alive 5s; maxconn 9000; master-worker (-W), reload = SIGUSR2',
];

/**
 * @param {number} port
 * @param {string[]} backends
 */
function haproxyConf(port, backends) {
  const servers = backends.map((b, i) => `  server b${i + 1} ${new URL(b).host}`).join('\n');
  return `# written by tools/bench (do not edit: rewritten every run)
global
  nbthread 1
  maxconn 9000
defaults
  mode http
  timeout connect 1s
  timeout client 3600s
  timeout server 3600s
  timeout tunnel 3600s
  timeout http-keep-alive 5s
  option http-keep-alive
frontend fe
  bind 127.0.0.1:${port}
  default_backend be
backend be
  balance leastconn
  http-reuse safe
${servers}
`;
}

/**
 * HAProxy in master-worker mode; `reload(backends)` rewrites the config and sends SIGUSR2 (the
 * old worker keeps its connections until they end, the new one starts counting from zero).
 * @param {BenchContext} ctx
 * @param {{name: string, backends: string[]}} o
 */
export async function startHaproxy(ctx, o) {
  const dir = join(ctx.confs, o.name);
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const conf = join(dir, 'haproxy.cfg');
  writeFileSync(conf, haproxyConf(port, o.backends));
  const child = startChild(o.name, 'haproxy', ['-W', '-db', '-f', conf], { env: baseEnv(), logFile: join(ctx.logs, `${o.name}.log`) });
  const url = `http://127.0.0.1:${port}`;
  await waitHttpOk(child, `${url}/info`, 10_000);
  return {
    name: o.name,
    url,
    child,
    conf,
    /** @param {string[]} backends */
    async reload(backends) {
      writeFileSync(conf, haproxyConf(port, backends));
      process.kill(child.pid, 'SIGUSR2');
      await sleep(200);
    },
    stop: () => child.stop('SIGTERM'),
  };
}

/**
 * Resident set of a process in KiB, from /proc/<pid>/status (VmRSS), and its peak (VmHWM).
 * @param {number} pid
 */
export async function rssKiB(pid) {
  const { readFile } = await import('node:fs/promises');
  const text = await readFile(`/proc/${pid}/status`, 'utf8');
  const get = (/** @type {string} */ k) => Number(text.match(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm'))?.[1] ?? NaN);
  return { rss: get('VmRSS'), hwm: get('VmHWM') };
}

/** @param {string} p */
export const exists = (p) => existsSync(p);

/**
 * Difference of two INFO commandstats snapshots (the INFO calls themselves left out).
 * @param {Record<string, number>} before
 * @param {Record<string, number>} after
 */
export function commandDelta(before, after) {
  /** @type {Record<string, number>} */
  const byCommand = {};
  let total = 0;
  for (const [k, v] of Object.entries(after)) {
    if (k === 'info') continue;
    const d = v - (before[k] ?? 0);
    if (d > 0) {
      byCommand[k] = d;
      total += d;
    }
  }
  return { total, byCommand };
}

/**
 * One redis-server and one registry shared by every scenario of a run (each scenario uses its own
 * pool, so their backends never mix); started on first use, stopped with everything else.
 * @param {BenchContext & {core?: any}} ctx
 * @returns {Promise<{redis: Awaited<ReturnType<typeof startRedis>>, registry: Awaited<ReturnType<typeof startRegistry>>, token: string, prefix: string}>}
 */
export function sharedCore(ctx) {
  if (!ctx.core) {
    ctx.core = (async () => {
      const prefix = 'bench';
      const token = randomToken();
      const redis = await startRedis(ctx, 'redis');
      const registry = await startRegistry(ctx, { name: 'registry', redisUrl: redis.url, prefix, token });
      return { redis, registry, token, prefix };
    })();
    ctx.core.catch(() => (ctx.core = undefined));
  }
  return ctx.core;
}
