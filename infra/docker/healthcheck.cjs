'use strict';
// The image's HEALTHCHECK: GET /health/live (or /health/ready) on the port the app serves it on,
// exit 0 when it answers 2xx. LB_APP (set in the image) names the app; the port and host come from
// the same variables the app reads, with the same defaults, so a deployment that moves the port
// keeps a correct check. Node instead of curl because slim images ship no curl. Also required by
// tools/infra's checks.
//
//   node /app/healthcheck.cjs          liveness: the process works (the image's HEALTHCHECK)
//   node /app/healthcheck.cjs ready    readiness: it can do its job now (compose overrides to this)
//
// Liveness is the default because whatever acts on a container's health acts by restarting it
// (Swarm, ECS, autoheal): the image must never ask for a restart because Redis or the registry is
// away, only because the process itself is broken. Readiness is for who only waits or reports.
const http = require('node:http');

/** Where each app serves /health/*. The gateway's are on its admin listener, not the traffic port. */
const HEALTH_TARGETS = {
  gateway: { portVar: 'GATEWAY_ADMIN_PORT', defaultPort: 9080, hostVar: 'GATEWAY_HOST' },
  registry: { portVar: 'REGISTRY_PORT', defaultPort: 8090, hostVar: 'REGISTRY_HOST' },
  'backend-sim': { portVar: 'BACKEND_PORT', defaultPort: 8101, hostVar: 'BACKEND_HOST' },
};

/** live: the process works (never depends on Redis or the registry); ready: it can do its job. */
const PROBE_PATHS = { live: '/health/live', ready: '/health/ready' };

/** A wildcard bind address is reached through loopback; a specific one is used as is. */
function probeHost(bound) {
  if (!bound || bound === '0.0.0.0' || bound === '::' || bound === '[::]') return '127.0.0.1';
  return bound.replace(/^\[(.*)\]$/, '$1');
}

function healthTarget(app, env, probe = 'live') {
  const target = HEALTH_TARGETS[app];
  if (!target) throw new Error(`LB_APP=${JSON.stringify(app)}: expected one of ${Object.keys(HEALTH_TARGETS).join(', ')}`);
  const path = PROBE_PATHS[probe];
  if (!path) throw new Error(`probe ${JSON.stringify(probe)}: expected one of ${Object.keys(PROBE_PATHS).join(', ')}`);
  const raw = env[target.portVar];
  const port = raw === undefined || raw === '' ? target.defaultPort : Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`${target.portVar}=${JSON.stringify(raw)}: cannot check an ephemeral or invalid port`);
  }
  return { host: probeHost(env[target.hostVar]), port, path };
}

function probe({ host, port, path }, timeoutMs) {
  return new Promise((resolve) => {
    const req = http.get({ host, port, path, timeout: timeoutMs, headers: { 'user-agent': 'lb-healthcheck' } }, (res) => {
      res.resume();
      const ok = res.statusCode >= 200 && res.statusCode < 300;
      resolve({ ok, detail: `${path} answered ${res.statusCode}` });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err) => resolve({ ok: false, detail: `${host}:${port}${path}: ${err.message}` }));
  });
}

module.exports = { HEALTH_TARGETS, PROBE_PATHS, healthTarget };

if (require.main === module) {
  let target;
  try {
    target = healthTarget(process.env.LB_APP, process.env, process.argv[2] ?? 'live');
  } catch (err) {
    process.stdout.write(`unhealthy: ${err.message}\n`);
    process.exit(1);
  }
  probe(target, 2_000).then(({ ok, detail }) => {
    process.stdout.write(`${ok ? 'healthy' : 'unhealthy'}: ${detail}\n`);
    process.exit(ok ? 0 : 1);
  });
}
