// infra/ checked without Docker or Nomad: the committed files pass every static check, each check
// catches the mistake it exists for (run against a copy of infra/ with one deliberate error), and
// the image's HEALTHCHECK script answers like Docker expects against a real HTTP server (liveness by
// default, readiness on request).
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

type Finding = { severity: 'error' | 'warning'; file: string; message: string };
type Result = { findings: Finding[]; errors: number; warnings: number };
const { checkInfra, dockerignoreMatcher } = require('./infra-checks.cjs') as {
  checkInfra(options: { root: string }): Promise<Result>;
  dockerignoreMatcher(text: string): (file: string) => boolean;
};

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
    const result = await checkInfra({ root });
    expect(show(errorsOf(result))).toBe('');
  });

  // [what goes wrong, file, from, to, file the error is reported in, error pattern]
  const mutations: Array<[string, string, string | RegExp, string, string, RegExp]> = [
    ['a token written into a Nomad job', 'infra/nomad/registry.nomad.hcl', 'REGISTRY_HOST    = "0.0.0.0"', 'REGISTRY_HOST = "0.0.0.0"\n        REGISTRY_TOKEN = "0123456789abcdef0123"', 'infra/nomad/registry.nomad.hcl', /REGISTRY_TOKEN (is set in env|has a literal value)/],
    ['a token written into docker-compose', 'infra/docker/docker-compose.yml', /REGISTRY_TOKEN: \$\{REGISTRY_TOKEN:\?set REGISTRY_TOKEN\}/, 'REGISTRY_TOKEN: change-me-0123456789', 'infra/docker/docker-compose.yml', /REGISTRY_TOKEN/],
    ['a token pasted into a command in the README', 'infra/README.md', 'export REGISTRY_TOKEN="$(openssl rand -hex 24)"', 'export REGISTRY_TOKEN=5f2b8c0e9a1d4f7b6c3e', 'infra/README.md', /REGISTRY_TOKEN has a literal value/],
    ['a shared Nomad Variable no ACL policy grants', 'infra/nomad/lb-vars.policy.hcl', 'path "nomad/jobs/lb"', 'path "nomad/jobs/other"', 'infra/nomad/backend-sim.nomad.hcl', /reads Nomad Variable "nomad\/jobs\/lb".*ACL policy/],
    ['a Nomad file that is not valid HCL', 'infra/nomad/redis.nomad.hcl', /\}\s*$/, '', 'infra/nomad/redis.nomad.hcl', /invalid HCL: .*(brace|Unclosed)/i],
    ['backend-sim port mapped with `to` (advertised address unreachable)', 'infra/nomad/backend-sim.nomad.hcl', 'port "http" {}', 'port "http" {\n        to = 8101\n      }', 'infra/nomad/backend-sim.nomad.hcl', /must not set `to`/],
    ['backend-sim with a fixed count', 'infra/nomad/backend-sim.nomad.hcl', 'count = var.backend_count', 'count = 3', 'infra/nomad/backend-sim.nomad.hcl', /count should be a variable/],
    ['gateway health checked on the traffic port', 'infra/nomad/gateway.nomad.hcl', 'port     = "admin"\n        path', 'port     = "http"\n        path', 'infra/nomad/gateway.nomad.hcl', /\/health\/live check uses port "http".*serves \/health\/\* on GATEWAY_ADMIN_PORT=9080/],
    // Liveness restarts, readiness only reports: a Redis outage must restart nothing.
    ['a job without its liveness check', 'infra/nomad/registry.nomad.hcl', 'path     = "/health/live"', 'path     = "/health"', 'infra/nomad/registry.nomad.hcl', /no liveness check/],
    ['a liveness check that restarts nothing (limit 0)', 'infra/nomad/gateway.nomad.hcl', 'limit = 3', 'limit = 0', 'infra/nomad/gateway.nomad.hcl', /no liveness check: .*check_restart/],
    ['a job without its readiness check', 'infra/nomad/backend-sim.nomad.hcl', 'path     = "/health/ready"', 'path     = "/health/live"', 'infra/nomad/backend-sim.nomad.hcl', /no readiness check/],
    ['a readiness check that restarts the task', 'infra/nomad/registry.nomad.hcl', 'path     = "/health/ready"\n        interval = "5s"\n        timeout  = "2s"', 'path     = "/health/ready"\n        interval = "5s"\n        timeout  = "2s"\n        check_restart {\n          limit = 3\n        }', 'infra/nomad/registry.nomad.hcl', /"registry-ready" has check_restart; only the \/health\/live check may restart/],
    ['check_restart on the service (applies to readiness too)', 'infra/nomad/gateway.nomad.hcl', 'tags     = ["lb", "traffic"]', 'tags     = ["lb", "traffic"]\n      check_restart {\n        limit = 3\n      }', 'infra/nomad/gateway.nomad.hcl', /check_restart on the service applies to every check/],
    ['an app checked on the old /health (readiness) path', 'infra/nomad/backend-sim.nomad.hcl', 'path     = "/health/live"', 'path     = "/health"', 'infra/nomad/backend-sim.nomad.hcl', /check on \/health; an app is checked on/],
    // Redis requires a password, from a Nomad Variable, on no command line.
    ['Nomad Redis without requirepass', 'infra/nomad/redis.nomad.hcl', 'requirepass "{{ $pw }}"', 'appendfsync "everysec"', 'infra/nomad/redis.nomad.hcl', /Redis should require a password/],
    ['Nomad Redis given the password on its command line', 'infra/nomad/redis.nomad.hcl', '"${NOMAD_SECRETS_DIR}/redis.conf",', '"--requirepass", "{{ with nomadVar \\"nomad/jobs/lb\\" }}{{ .redis_password }}{{ end }}",', 'infra/nomad/redis.nomad.hcl', /Redis password is on the command line/],
    ['Nomad Redis not loading its rendered config', 'infra/nomad/redis.nomad.hcl', '"${NOMAD_SECRETS_DIR}/redis.conf",', '"/usr/local/etc/redis/redis.conf",', 'infra/nomad/redis.nomad.hcl', /redis-server should take secrets\/redis\.conf/],
    ['a Redis password inside REDIS_URL (Nomad template)', 'infra/nomad/gateway.nomad.hcl', 'REDIS_URL=redis://{{ $s.Address }}', 'REDIS_URL=redis://:{{ with nomadVar "nomad/jobs/lb" }}{{ .redis_password }}{{ end }}@{{ $s.Address }}', 'infra/nomad/gateway.nomad.hcl', /REDIS_URL carries credentials/],
    ['an app job without REDIS_PASSWORD from the Nomad Variable', 'infra/nomad/gateway.nomad.hcl', 'REDIS_PASSWORD={{ .redis_password }}', 'LB_UNUSED={{ .redis_password }}', 'infra/nomad/gateway.nomad.hcl', /REDIS_PASSWORD should come from a template block/],
    ['an app reading another key than Redis', 'infra/nomad/backend-sim.nomad.hcl', 'REDIS_PASSWORD={{ .redis_password }}', 'REDIS_PASSWORD={{ .redis_pass }}', 'infra/nomad/backend-sim.nomad.hcl', /key redis_pass, which Redis's requirepass template/],
    ['a literal requirepass in a Nomad template', 'infra/nomad/redis.nomad.hcl', 'requirepass "{{ $pw }}"', 'requirepass "9f8e7d6c5b4a3928"', 'infra/nomad/redis.nomad.hcl', /requirepass has a literal value/],
    ['compose Redis without requirepass', 'infra/docker/docker-compose.yml', 'requirepass "$$REDIS_PASSWORD"', 'appendfsync everysec', 'infra/docker/docker-compose.yml', /"redis": Redis runs without a password/],
    ['compose Redis given --requirepass on its command line', 'infra/docker/docker-compose.yml', 'redis-server --appendonly yes', 'redis-server --requirepass "$$REDIS_PASSWORD" --appendonly yes', 'infra/docker/docker-compose.yml', /--requirepass puts the password on the command line/],
    ['a compose Redis healthcheck that passes on NOAUTH', 'infra/docker/docker-compose.yml', '"redis-cli ping | grep -q PONG"', '"redis-cli ping"', 'infra/docker/docker-compose.yml', /redis-cli exits 0 even when Redis answers NOAUTH/],
    ['redis-cli -a in the compose healthcheck', 'infra/docker/docker-compose.yml', '"redis-cli ping | grep -q PONG"', '"redis-cli -a $$REDIS_PASSWORD ping | grep -q PONG"', 'infra/docker/docker-compose.yml', /gives redis-cli the password as an argument/],
    ['compose redis-cli without REDISCLI_AUTH', 'infra/docker/docker-compose.yml', /\n {6}REDISCLI_AUTH: [^\n]*/, '', 'infra/docker/docker-compose.yml', /REDISCLI_AUTH should be/],
    ['a compose Redis password with a default', 'infra/docker/docker-compose.yml', /(\n {2}REDIS_PASSWORD: )[^\n]*/, '$1${REDIS_PASSWORD:-changeme}', 'infra/docker/docker-compose.yml', /"registry": REDIS_PASSWORD should be \$\{REDIS_PASSWORD:\?/],
    ['a Redis password inside REDIS_URL (compose)', 'infra/docker/docker-compose.yml', 'REDIS_URL: redis://redis:6379', 'REDIS_URL: redis://:${REDIS_PASSWORD}@redis:6379', 'infra/docker/docker-compose.yml', /"gateway": REDIS_URL carries credentials/],
    ['a real password in the example env file', 'infra/docker/redis.env.example', /^REDIS_PASSWORD=$/m, 'REDIS_PASSWORD=3f9a0c1b2d4e5f60718293a4b5c6d7e8', 'infra/docker/redis.env.example', /REDIS_PASSWORD has a literal value/],
    ['compose apps healthy on liveness (would start dependents before they can serve)', 'infra/docker/docker-compose.yml', '"/app/healthcheck.cjs", "ready"]', '"/app/healthcheck.cjs", "live"]', 'infra/docker/docker-compose.yml', /"registry": healthcheck should be readiness/],
    ['an image HEALTHCHECK on readiness', 'infra/docker/Dockerfile', '"/app/healthcheck.cjs", "live"]', '"/app/healthcheck.cjs", "ready"]', 'infra/docker/Dockerfile', /HEALTHCHECK should probe liveness/],
    ['the healthcheck script probing readiness by default', 'infra/docker/healthcheck.cjs', "probe = 'live'", "probe = 'ready'", 'infra/docker/healthcheck.cjs', /probes \/health\/ready by default/],
    ['a template looking up a service nobody registers', 'infra/nomad/redis.nomad.hcl', 'name     = "lb-redis"', 'name     = "redis-cache"', 'infra/nomad/gateway.nomad.hcl', /service "lb-redis", which no job/],
    ['a kill_timeout Nomad would cut short', 'infra/nomad/backend-sim.nomad.hcl', 'kill_timeout = "30s"', 'kill_timeout = "2m"', 'infra/nomad/backend-sim.nomad.hcl', /kill_timeout 2m/],
    ['a backend advertising another backend', 'infra/docker/docker-compose.yml', 'ADVERTISE_URL: http://backend-2:8101', 'ADVERTISE_URL: http://backend-1:8101', 'infra/docker/docker-compose.yml', /"backend-2": ADVERTISE_URL names "backend-1"/],
    ['a compose mount of a missing file', 'infra/docker/docker-compose.yml', '../observability/loki/loki.yml:', '../observability/loki/loki.yaml:', 'infra/docker/docker-compose.yml', /mounts \.\.\/observability\/loki\/loki\.yaml, which does not exist/],
    ['an app service inside a profile', 'infra/docker/docker-compose.yml', '  gateway:\n    <<: *app', '  gateway:\n    <<: *app\n    profiles: [full]', 'infra/docker/docker-compose.yml', /"gateway" is part of the load balancer/],
    ['a Dockerfile COPY the .dockerignore filters out', 'infra/docker/Dockerfile.dockerignore', '!libs\n', '', 'infra/docker/Dockerfile', /COPY libs: excluded from the build context/],
    ['a Dockerfile COPY of a path that does not exist', 'infra/docker/Dockerfile', 'COPY tools/build ./tools/build', 'COPY tools/webpack ./tools/webpack', 'infra/docker/Dockerfile', /COPY tools\/webpack: no such path/],
    ['a CMD that runs a file the build does not produce', 'infra/docker/Dockerfile', '"dist/apps/registry/main.js"', '"dist/registry/main.js"', 'infra/docker/Dockerfile', /app-registry: CMD should be exec form running node dist\/apps\/registry\/main\.js/],
    ['an image running as root', 'infra/docker/Dockerfile', 'USER node', 'USER root', 'infra/docker/Dockerfile', /non-root USER/],
    ['node as PID 1 without an init', 'infra/docker/Dockerfile', 'ENTRYPOINT ["/usr/bin/tini", "--"]', 'ENTRYPOINT []', 'infra/docker/Dockerfile', /ENTRYPOINT should be tini/],
    ['the healthcheck probing the gateway traffic port', 'infra/docker/healthcheck.cjs', "portVar: 'GATEWAY_ADMIN_PORT', defaultPort: 9080", "portVar: 'GATEWAY_PORT', defaultPort: 8080", 'infra/docker/healthcheck.cjs', /gateway: probes port 8080/],
    ['Promtail no longer labelling the service', 'infra/observability/promtail/promtail.yml', /\n {10}service:\n {10}kind:/, '\n          kind:', 'infra/observability/promtail/promtail.yml', /"service" is not a label/],
    ['Prometheus scraping the traffic port', 'infra/observability/prometheus/prometheus.yml', 'port: 9080', 'port: 8080', 'infra/observability/prometheus/prometheus.yml', /admin port 9080/],
    ['a dashboard panel on a datasource that is not provisioned', 'infra/observability/grafana/dashboards/lb-overview.json', /"uid": "lb-loki"/g, '"uid": "loki"', 'infra/observability/grafana/dashboards/lb-overview.json', /datasource uid "loki", which is not provisioned/],
    ['a dashboard querying a Loki label Promtail does not set', 'infra/observability/grafana/dashboards/lb-overview.json', 'kind=\\"access\\", service', 'app=\\"access\\", service', 'infra/observability/grafana/dashboards/lb-overview.json', /Loki label "app" is not set by Promtail/],
  ];

  it.each(mutations)('catches %s', async (_what, file, from, to, reportedIn, pattern) => {
    const dir = scratchRoot();
    scratch.push(dir);
    edit(dir, file, from, to);
    const errors = errorsOf(await checkInfra({ root: dir }));
    expect(errors.some((f) => f.file === reportedIn && pattern.test(f.message)) ? 'caught' : show(errors)).toBe('caught');
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
