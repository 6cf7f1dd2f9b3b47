// infra/ checked without Docker or Nomad: the committed files pass every static check, each check
// catches the mistake it exists for (run against a copy of infra/ with one deliberate error), and
// the image's HEALTHCHECK script answers like Docker expects against a real HTTP server.
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
    ['gateway health checked on the traffic port', 'infra/nomad/gateway.nomad.hcl', 'port     = "admin"\n        path', 'port     = "http"\n        path', 'infra/nomad/gateway.nomad.hcl', /serves \/health on GATEWAY_ADMIN_PORT=9080/],
    ['a job without its /health check', 'infra/nomad/registry.nomad.hcl', 'path     = "/health"', 'path     = "/"', 'infra/nomad/registry.nomad.hcl', /no service check of type "http" on path "\/health"/],
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
  let status = 200;

  beforeAll(async () => {
    server = createServer((req, res) => {
      res.statusCode = req.url === '/health' ? status : 404;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  function runHealthcheck(env: Record<string, string>): Promise<{ code: number | null; out: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [join(root, 'infra/docker/healthcheck.cjs')], { env: { PATH: process.env.PATH ?? '', ...env } });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.on('close', (code) => resolve({ code, out }));
    });
  }

  it('exits 0 when the app answers 2xx on the port its variable names', async () => {
    status = 200;
    const r = await runHealthcheck({ LB_APP: 'gateway', GATEWAY_ADMIN_PORT: String(port), GATEWAY_PORT: '1' });
    expect(r).toEqual({ code: 0, out: 'healthy: /health answered 200\n' });
  });

  it('exits 1 when /health answers 503', async () => {
    status = 503;
    const r = await runHealthcheck({ LB_APP: 'registry', REGISTRY_PORT: String(port) });
    expect(r).toEqual({ code: 1, out: 'unhealthy: /health answered 503\n' });
  });

  it('exits 1 when nothing listens, and for an unknown app', async () => {
    const closed = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const down = await runHealthcheck({ LB_APP: 'backend-sim', BACKEND_PORT: String(closed) });
    expect(down.code).toBe(1);
    expect(down.out).toMatch(/^unhealthy: 127\.0\.0\.1:\d+\/health: .*ECONNREFUSED/);
    const unknown = await runHealthcheck({ LB_APP: 'web' });
    expect(unknown).toEqual({ code: 1, out: 'unhealthy: LB_APP="web": expected one of gateway, registry, backend-sim\n' });
  });
});
