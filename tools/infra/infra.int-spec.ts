// infra/ checked without Docker or Nomad: the committed files pass every static check, each check
// catches the mistake it exists for (run against a copy of infra/ with one deliberate error), and
// the image's HEALTHCHECK script answers like Docker expects against a real HTTP server (liveness by
// default, readiness on request).
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { APP_FACTS } from './app-facts';

type Finding = { severity: 'error' | 'warning'; file: string; message: string };
type Result = { findings: Finding[]; errors: number; warnings: number };
const { checkInfra, dockerignoreMatcher } = require('./infra-checks.cjs') as {
  checkInfra(options: { root: string; apps: typeof APP_FACTS }): Promise<Result>;
  dockerignoreMatcher(text: string): (file: string) => boolean;
};
const check = (dir: string) => checkInfra({ root: dir, apps: APP_FACTS });

const NOMAD = {
  redis: 'infra/nomad/redis.nomad.hcl',
  registry: 'infra/nomad/registry.nomad.hcl',
  gateway: 'infra/nomad/gateway.nomad.hcl',
  backend: 'infra/nomad/backend-sim.nomad.hcl',
  proxy: 'infra/nomad/registry-proxy.nomad.hcl',
  alloy: 'infra/nomad/alloy.nomad.hcl',
};
const POLICY = (job: string) => `infra/nomad/policies/${job}.policy.hcl`;
const COMPOSE = 'infra/docker/docker-compose.yml';
const DOCKERFILE = 'infra/docker/Dockerfile';
const ALLOY = 'infra/observability/alloy/lb-logs.alloy';
const DASHBOARD = 'infra/observability/grafana/dashboards/lb-overview.json';

const root = join(__dirname, '..', '..');
const errorsOf = (r: Result) => r.findings.filter((f) => f.severity === 'error');
const show = (fs: Finding[]) => fs.map((f) => `${f.file}: ${f.message}`).join('\n');

/** A throwaway checkout: infra/ copied (to be edited), everything else linked to the real repo. */
function scratchRoot(): string {
  const dir = mkdtempSync(join(tmpdir(), 'lb-infra-'));
  for (const entry of readdirSync(root)) {
    if (['infra', '.git', 'dist', 'tmp', '.nx'].includes(entry)) continue;
    symlinkSync(join(root, entry), join(dir, entry));
  }
  cpSync(join(root, 'infra'), join(dir, 'infra'), { recursive: true });
  return dir;
}

/** Replaces `from` in one file; fails the test when `from` is gone (the mutation went stale). */
function edit(dir: string, file: string, from: string | RegExp, to: string): void {
  const path = join(dir, file);
  const before = readFileSync(path, 'utf8');
  const after = before.replace(from, to);
  if (after === before) throw new Error(`mutation did not apply: ${String(from)} not found in ${file}`);
  writeFileSync(path, after);
}

const scratch: string[] = [];
afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

describe('infra/ static checks', () => {
  it('the committed infra has no errors', async () => {
    const result = await check(root);
    expect(show(errorsOf(result))).toBe('');
  });

  // [what goes wrong, file, from, to, file the error is reported in, error pattern]
  const mutations: Array<[string, string, string | RegExp, string, string, RegExp]> = [
    ['a token written into a Nomad job', NOMAD.registry, 'REGISTRY_HOST    = "0.0.0.0"', 'REGISTRY_HOST = "0.0.0.0"\n        REGISTRY_TOKEN = "0123456789abcdef0123"', NOMAD.registry, /REGISTRY_TOKEN (is set in env|has a literal value)/],
    ['a token written into docker-compose', COMPOSE, /REGISTRY_TOKEN: \$\{REGISTRY_TOKEN:\?set REGISTRY_TOKEN\}/, 'REGISTRY_TOKEN: change-me-0123456789', COMPOSE, /REGISTRY_TOKEN/],
    ['a token pasted into a command in the README', 'infra/README.md', 'registry token="$(openssl rand -hex 24)"', 'registry token=5f2b8c0e9a1d4f7b6c3e', 'infra/README.md', /token has a literal value/],
    ['a Nomad file that is not valid HCL', NOMAD.redis, /\}\s*$/, '', NOMAD.redis, /invalid HCL: .*(brace|Unclosed)/i],
    // Secrets only from Nomad Variables, each job granted exactly what it reads.
    ['a Nomad Variable the job\'s policy does not grant', POLICY('gateway'), 'path "lb/redirect"', 'path "lb/other"', NOMAD.gateway, /reads Nomad Variable "lb\/redirect", which .*gateway\.policy\.hcl does not grant/],
    ['a policy granting more than the job reads', POLICY('gateway'), 'path "lb/redis" {', 'path "lb/registry" {\n      capabilities = ["read"]\n    }\n    path "lb/redis" {', POLICY('gateway'), /grants read on "lb\/registry", which job "gateway" never reads/],
    // 12.1 and 12.2: nothing an app does not read, no discovered address that restarts a fleet.
    ['a gateway given REGISTRY_URL, which it never reads', NOMAD.gateway, 'GATEWAY_MODE       = var.mode', 'GATEWAY_MODE       = var.mode\n        REGISTRY_URL       = "http://lb-registry.invalid:8090"', NOMAD.gateway, /sets REGISTRY_URL, which gateway does not read/],
    ['a compose gateway given REGISTRY_URL', COMPOSE, 'GATEWAY_ADMIN_PORT: "9080"', 'GATEWAY_ADMIN_PORT: "9080"\n      REGISTRY_URL: http://registry:8090', COMPOSE, /"gateway": sets REGISTRY_URL, which gateway does not read/],
    ['sentinel addresses that restart the task when a sentinel moves', NOMAD.registry, /(destination = "local\/redis\.env"\n\s+env\s+= true\n\s+change_mode = )"noop"/, '$1"restart"', NOMAD.registry, /renders the address of "lb-redis-sentinel" with change_mode "restart"/],
    ['a registry-proxy that restarts nginx on every registry move', NOMAD.proxy, 'change_mode   = "signal"', 'change_mode   = "restart"', NOMAD.proxy, /address of "lb-registry" with change_mode "restart"/],
    ['an app pointed at one Redis instead of the sentinels', NOMAD.gateway, /REDIS_SENTINELS=\{\{ range[^\n]*/, 'REDIS_URL=redis://{{ range nomadService "lb-redis" }}{{ .Address }}:{{ .Port }}{{ end }}', NOMAD.gateway, /REDIS_URL names one Redis/],
    ['a backend reaching the registry elsewhere than through its node\'s proxy', NOMAD.backend, 'REGISTRY_URL          = "http://${NOMAD_IP_http}:${var.registry_proxy_port}"', 'REGISTRY_URL          = "http://registry.invalid:8090"', NOMAD.backend, /REGISTRY_URL should be http:\/\/\$\{NOMAD_IP_http\}:8091/],
    // 12.4-12.6: placement, scaling bounds, stop time, memory.
    ['two registries allowed on one node', NOMAD.registry, /\n {4}constraint \{\n {6}operator = "distinct_hosts"\n {6}value {4}= "true"\n {4}\}\n/, '\n', NOMAD.registry, /group "registry": needs a distinct_hosts constraint/],
    ['backends placed anywhere whatever the operator asks', NOMAD.backend, 'attribute = "${node.class}"', 'attribute = "${attr.kernel.name}"', NOMAD.backend, /constrained to a node class or metadata/],
    ['backends without scaling bounds', NOMAD.backend, /\n {4}scaling \{[^}]*\}\n/, '\n', NOMAD.backend, /needs a scaling block with min and max/],
    ['a backend count outside the scaling bounds', NOMAD.backend, /(variable "backend_count" \{[^}]*default\s+= )3/, '$1100', NOMAD.backend, /count 100 is outside scaling bounds 1-50/],
    ['backends given less time to stop than a request may run', NOMAD.backend, 'kill_timeout = "${var.max_work_seconds + 10}s"', 'kill_timeout = "15s"', NOMAD.backend, /kill_timeout 15s is shorter than BACKEND_MAX_WORK_MS \(20s\)/],
    ['a kill_timeout Nomad would cut short', NOMAD.backend, /(variable "max_work_seconds" \{[^}]*default\s+= )20/, '$1600', NOMAD.backend, /kill_timeout 610s should be within 5s-30s/],
    ['a task without memory_max', NOMAD.gateway, /\n {8}memory_max = 512/, '', NOMAD.gateway, /task "gateway": resources\.memory_max should be set/],
    // 12.8: redirect mode wired.
    ['a gateway mode written into the job', NOMAD.gateway, 'GATEWAY_MODE       = var.mode', 'GATEWAY_MODE       = "proxy"', NOMAD.gateway, /GATEWAY_MODE should come from a variable/],
    ['backends without the redirect keys', NOMAD.backend, 'REDIRECT_KEYS={{ .keys }}', 'LB_UNUSED={{ .keys }}', NOMAD.backend, /REDIRECT_KEYS should come from a template block/],
    // Redis under Sentinel, with a password, on no command line.
    ['Redis under two sentinels', NOMAD.redis, /(variable "sentinel_count" \{[^}]*default\s+= )3/, '$12', NOMAD.redis, /2 sentinels cannot fail over/],
    ['Redis placed away from its data', NOMAD.redis, /\n {4}volume "data" \{[^}]*\}\n/, '\n', NOMAD.redis, /pinned where its data lives/],
    ['Nomad Redis without requirepass', NOMAD.redis, 'requirepass "{{ $pw }}"', 'appendfsync "everysec"', NOMAD.redis, /Redis should require a password/],
    ['Nomad Redis given the password on its command line', NOMAD.redis, 'args    = ["/local/start.sh"]', 'args    = ["/local/start.sh", "--requirepass", "{{ with nomadVar \\"lb/redis\\" }}{{ .password }}{{ end }}"]', NOMAD.redis, /password is on the command line/],
    ['a start script passing masterauth as an argument', NOMAD.redis, '--dir /data --appendonly yes', '--masterauth "$REDISCLI_AUTH" --dir /data --appendonly yes', NOMAD.redis, /passes the password as --requirepass\/--masterauth/],
    ['Nomad Redis not loading its rendered config', NOMAD.redis, 'redis-server /secrets/auth.conf', 'redis-server /usr/local/etc/redis/redis.conf', NOMAD.redis, /redis-server should take \/secrets\/auth\.conf/],
    ['a Redis password inside REDIS_URL (compose)', COMPOSE, 'REDIS_URL: redis://redis:6379', 'REDIS_URL: redis://:${REDIS_PASSWORD}@redis:6379', COMPOSE, /"gateway": REDIS_URL carries credentials/],
    ['an app reading another key than Redis', NOMAD.backend, 'REDIS_PASSWORD={{ .password }}', 'REDIS_PASSWORD={{ .pass }}', NOMAD.backend, /REDIS_PASSWORD comes from lb\/redis key pass, but Redis's requirepass from lb\/redis key password/],
    ['a literal requirepass in a Nomad template', NOMAD.redis, 'requirepass "{{ $pw }}"', 'requirepass "9f8e7d6c5b4a3928"', NOMAD.redis, /requirepass has a literal value/],
    ['compose Redis given --requirepass on its command line', COMPOSE, 'redis-server --appendonly yes', 'redis-server --requirepass "$$REDIS_PASSWORD" --appendonly yes', COMPOSE, /--requirepass puts the password on the command line/],
    ['a compose Redis healthcheck that passes on NOAUTH', COMPOSE, '"redis-cli ping | grep -q PONG"', '"redis-cli ping"', COMPOSE, /redis-cli exits 0 even when Redis answers NOAUTH/],
    ['a compose Redis password with a default', COMPOSE, /(\n {2}REDIS_PASSWORD: )[^\n]*/, '$1${REDIS_PASSWORD:-changeme}', COMPOSE, /"registry": REDIS_PASSWORD should be \$\{REDIS_PASSWORD:\?/],
    ['a real password in the example env file', 'infra/docker/redis.env.example', /^REDIS_PASSWORD=$/m, 'REDIS_PASSWORD=3f9a0c1b2d4e5f60718293a4b5c6d7e8', 'infra/docker/redis.env.example', /REDIS_PASSWORD has a literal value/],
    // Health: liveness restarts, readiness only reports (a Redis outage must restart nothing).
    ['gateway health checked on the traffic port', NOMAD.gateway, 'port     = "admin"\n        path', 'port     = "http"\n        path', NOMAD.gateway, /\/health\/live check uses port "http".*serves \/health\/\* on GATEWAY_ADMIN_PORT=9080/],
    ['a liveness check that restarts nothing (limit 0)', NOMAD.gateway, 'limit = 3', 'limit = 0', NOMAD.gateway, /no liveness check: .*check_restart/],
    ['a job without its readiness check', NOMAD.backend, 'path     = "/health/ready"', 'path     = "/health/live"', NOMAD.backend, /no readiness check/],
    ['a readiness check that restarts the task', NOMAD.registry, 'path     = "/health/ready"\n        interval = "5s"\n        timeout  = "2s"', 'path     = "/health/ready"\n        interval = "5s"\n        timeout  = "2s"\n        check_restart {\n          limit = 3\n        }', NOMAD.registry, /"registry-ready" has check_restart; only the \/health\/live check may restart/],
    ['check_restart on the service (applies to readiness too)', NOMAD.gateway, 'tags     = ["lb", "traffic"]', 'tags     = ["lb", "traffic"]\n      check_restart {\n        limit = 3\n      }', NOMAD.gateway, /check_restart on the service applies to every check/],
    ['compose apps healthy on liveness (would start dependents before they can serve)', COMPOSE, '"/app/healthcheck.cjs", "ready"]', '"/app/healthcheck.cjs", "live"]', COMPOSE, /"registry": healthcheck should be readiness/],
    ['an image HEALTHCHECK on readiness', DOCKERFILE, '"/app/healthcheck.cjs", "live"]', '"/app/healthcheck.cjs", "ready"]', DOCKERFILE, /HEALTHCHECK should probe liveness/],
    ['the healthcheck script probing readiness by default', 'infra/docker/healthcheck.cjs', "probe = 'live'", "probe = 'ready'", 'infra/docker/healthcheck.cjs', /probes \/health\/ready by default/],
    ['the healthcheck probing the gateway traffic port', 'infra/docker/healthcheck.cjs', "portVar: 'GATEWAY_ADMIN_PORT', defaultPort: 9080", "portVar: 'GATEWAY_PORT', defaultPort: 8080", NOMAD.gateway, /check uses port "admin" \(container port 9080\) but task "gateway" serves \/health\/\* on GATEWAY_PORT=8080/],
    ['a template looking up a service nobody registers', NOMAD.redis, 'name     = "lb-redis-sentinel"', 'name     = "redis-sentinel"', NOMAD.gateway, /service "lb-redis-sentinel", which no job/],
    ['backend-sim port mapped with `to` (advertised address unreachable)', NOMAD.backend, 'port "http" {}', 'port "http" {\n        to = 8101\n      }', NOMAD.backend, /must not set `to`/],
    // 12.9: the image and compose.
    ['a floating Node base image', DOCKERFILE, 'ARG NODE_IMAGE=node:24.21.0-bookworm-slim', 'ARG NODE_IMAGE=node:24-bookworm-slim', DOCKERFILE, /base image node:24-bookworm-slim should be a pinned release/],
    ['an image without its source revision', DOCKERFILE, 'org.opencontainers.image.revision="${REVISION}"', 'org.opencontainers.image.url="${REVISION}"', DOCKERFILE, /LABEL org\.opencontainers\.image\.revision should be set from a build arg/],
    ['a top-level compose name (Compose v1 refuses it)', COMPOSE, /\nx-app: &app/, '\nname: lb\n\nx-app: &app', COMPOSE, /top-level "name": Compose v1 refuses it/],
    ['a backend advertising another backend', COMPOSE, 'ADVERTISE_URL: http://backend-2:8101', 'ADVERTISE_URL: http://backend-1:8101', COMPOSE, /"backend-2": ADVERTISE_URL names "backend-1"/],
    ['a compose mount of a missing file', COMPOSE, '../observability/loki/loki.yml:', '../observability/loki/loki.yaml:', COMPOSE, /mounts \.\.\/observability\/loki\/loki\.yaml, which does not exist/],
    ['an app service inside a profile', COMPOSE, '  gateway:\n    <<: *app', '  gateway:\n    <<: *app\n    profiles: [full]', COMPOSE, /"gateway" is part of the load balancer/],
    ['a Dockerfile COPY the .dockerignore filters out', 'infra/docker/Dockerfile.dockerignore', '!libs\n', '', DOCKERFILE, /COPY libs: excluded from the build context/],
    ['a Dockerfile COPY of a path that does not exist', DOCKERFILE, 'COPY tools/build ./tools/build', 'COPY tools/webpack ./tools/webpack', DOCKERFILE, /COPY tools\/webpack: no such path/],
    ['a CMD that runs a file the build does not produce', DOCKERFILE, '"dist/apps/registry/main.js"', '"dist/registry/main.js"', DOCKERFILE, /app-registry: CMD should be exec form running node dist\/apps\/registry\/main\.js/],
    ['an image running as root', DOCKERFILE, 'USER node', 'USER root', DOCKERFILE, /non-root USER/],
    ['node as PID 1 without an init', DOCKERFILE, 'ENTRYPOINT ["/usr/bin/tini", "--"]', 'ENTRYPOINT []', DOCKERFILE, /ENTRYPOINT should be tini/],
    // 12.7: logs reach Loki with the labels the dashboards query, from compose and from Nomad.
    ['the Alloy pipeline no longer labelling the service', ALLOY, /\n {6}service = "",\n {6}kind/, '\n      kind', 'infra/observability/alloy/docker.alloy', /lines from compose get no "service" label/],
    ['the Nomad source without the stream label', 'infra/observability/alloy/nomad.alloy', /\n {6}stream = "",/, '', 'infra/observability/alloy/nomad.alloy', /lines from nomad get no "stream" label/],
    ['a dashboard querying a label only compose sets', DASHBOARD, 'kind=\\"access\\", service', 'compose_service=\\"gateway\\", service', DASHBOARD, /Loki label "compose_service" is not set by the Alloy pipeline on both compose and Nomad/],
    ['the Nomad log job reading a config that is not there', NOMAD.alloy, 'file("infra/observability/alloy/nomad.alloy")', 'file("infra/observability/alloy/nomad-logs.alloy")', NOMAD.alloy, /nomad-logs\.alloy"\): no such file/],
    ['Prometheus scraping the traffic port', 'infra/observability/prometheus/prometheus.yml', 'port: 9080', 'port: 8080', 'infra/observability/prometheus/prometheus.yml', /admin port 9080/],
    ['a dashboard panel on a datasource that is not provisioned', DASHBOARD, /"uid": "lb-loki"/g, '"uid": "loki"', DASHBOARD, /datasource uid "loki", which is not provisioned/],
  ];

  it.each(mutations)('catches %s', async (_what, file, from, to, reportedIn, pattern) => {
    const dir = scratchRoot();
    scratch.push(dir);
    edit(dir, file, from, to);
    const errors = errorsOf(await check(dir));
    expect(errors.some((f) => f.file === reportedIn && pattern.test(f.message)) ? 'caught' : show(errors)).toBe('caught');
  });
});

// Compose's own validation, by Debian's docker-compose (Compose v1, 1.29) when it is installed: the
// file must work with v1 and v2 alike. Skipped where it is not (`apt-get install -y docker-compose`).
const composeV1 = spawnSync('docker-compose', ['version', '--short'], { encoding: 'utf8' });
(composeV1.status === 0 ? describe : describe.skip)('docker-compose config (Compose v1)', () => {
  const config = (dir: string) =>
    spawnSync('docker-compose', ['-f', join(dir, COMPOSE), '--profile', 'observability', 'config', '-q'], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', REDIS_PASSWORD: 'compose-check', REGISTRY_TOKEN: 'compose-check-token' },
    });

  it('accepts the compose file, observability profile included', () => {
    const r = config(root);
    expect(`${r.status} ${r.stderr}`).toBe('0 ');
  });

  it('refuses a top-level name, as the static check does', () => {
    const dir = scratchRoot();
    scratch.push(dir);
    edit(dir, COMPOSE, /\nx-app: &app/, '\nname: lb\n\nx-app: &app');
    expect(config(dir).stderr).toMatch(/'name' does not match any of the regexes/);
  });
});

describe('Dockerfile.dockerignore as BuildKit applies it', () => {
  const isIgnored = dockerignoreMatcher(readFileSync(join(root, 'infra/docker/Dockerfile.dockerignore'), 'utf8'));
  it.each([
    ['package-lock.json', false],
    ['apps/gateway/src/main.ts', false],
    ['libs/balancing/src/store/redis/lua/scripts.ts', false],
    ['tools/build/webpack.config.cjs', false],
    ['infra/docker/healthcheck.cjs', false],
    ['node_modules/undici/index.js', true],
    ['apps/gateway/node_modules/x/index.js', true],
    ['dist/apps/gateway/main.js', true],
    ['.git/config', true],
    ['.env', true],
    ['libs/balancing/src/core/select-least-loaded.spec.ts', true],
    ['apps/gateway/test/gateway.e2e-spec.ts', true],
    ['tools/bench/run.mjs', true],
    ['infra/nomad/gateway.nomad.hcl', true],
  ])('%s ignored: %s', (file, ignored) => {
    expect(isIgnored(file)).toBe(ignored);
  });
});

describe('the image HEALTHCHECK script (infra/docker/healthcheck.cjs)', () => {
  let server: Server;
  let port = 0;
  // What the app answers on each path; anything else is 404.
  let statuses: Record<string, number> = {};

  beforeAll(async () => {
    server = createServer((req, res) => {
      res.statusCode = statuses[req.url ?? ''] ?? 404;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  function runHealthcheck(env: Record<string, string>, args: string[] = []): Promise<{ code: number | null; out: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [join(root, 'infra/docker/healthcheck.cjs'), ...args], { env: { PATH: process.env.PATH ?? '', ...env } });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.on('close', (code) => resolve({ code, out }));
    });
  }

  it('probes liveness by default and exits 0 when the app answers 2xx on the port its variable names', async () => {
    statuses = { '/health/live': 200, '/health/ready': 200 };
    const r = await runHealthcheck({ LB_APP: 'gateway', GATEWAY_ADMIN_PORT: String(port), GATEWAY_PORT: '1' });
    expect(r).toEqual({ code: 0, out: 'healthy: /health/live answered 200\n' });
  });

  it('stays healthy while the app is live but not ready (Redis away); `ready` reports the 503', async () => {
    statuses = { '/health/live': 200, '/health/ready': 503 };
    expect(await runHealthcheck({ LB_APP: 'registry', REGISTRY_PORT: String(port) })).toEqual({ code: 0, out: 'healthy: /health/live answered 200\n' });
    expect(await runHealthcheck({ LB_APP: 'registry', REGISTRY_PORT: String(port) }, ['ready'])).toEqual({ code: 1, out: 'unhealthy: /health/ready answered 503\n' });
  });

  it('exits 1 when liveness answers 503', async () => {
    statuses = { '/health/live': 503 };
    const r = await runHealthcheck({ LB_APP: 'backend-sim', BACKEND_PORT: String(port) });
    expect(r).toEqual({ code: 1, out: 'unhealthy: /health/live answered 503\n' });
  });

  it('exits 1 when nothing listens, for an unknown app and for an unknown probe', async () => {
    const closed = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const down = await runHealthcheck({ LB_APP: 'backend-sim', BACKEND_PORT: String(closed) });
    expect(down.code).toBe(1);
    expect(down.out).toMatch(/^unhealthy: 127\.0\.0\.1:\d+\/health\/live: .*ECONNREFUSED/);
    const unknown = await runHealthcheck({ LB_APP: 'web' });
    expect(unknown).toEqual({ code: 1, out: 'unhealthy: LB_APP="web": expected one of gateway, registry, backend-sim\n' });
    const badProbe = await runHealthcheck({ LB_APP: 'gateway' }, ['health']);
    expect(badProbe).toEqual({ code: 1, out: 'unhealthy: probe "health": expected one of live, ready\n' });
  });
});
