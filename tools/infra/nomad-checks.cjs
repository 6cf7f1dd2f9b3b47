'use strict';
/**
 * The Nomad jobs (infra/nomad/*.nomad.hcl, parsed by @cdktf/hcl2json) and their ACL policies
 * (infra/nomad/policies/<job>.policy.hcl), checked against what an operator needs to run them
 * unchanged: health checks that restart only on liveness, no template that restarts a fleet when a
 * service moves, placement and scaling bounds, secrets only from Nomad Variables with a policy that
 * grants each job exactly what it reads, Redis under Sentinel with a password, and the apps given
 * only variables they read.
 */
const { blocks, labeled, merged, hclEvaluator, durationSeconds } = require('./context.cjs');

const NOMAD_DIR = 'infra/nomad';
const POLICY_DIR = 'infra/nomad/policies';
/** The job files that must exist, and the app (if any) each one runs. */
const JOBS = { redis: null, 'registry-proxy': null, alloy: null, registry: 'registry', gateway: 'gateway', 'backend-sim': 'backend-sim' };
/** Secrets each app job gets from a Nomad Variable, rendered as environment by a template. */
const SECRET_ENV = {
  registry: ['REGISTRY_TOKEN', 'REDIS_PASSWORD', 'REDIS_SENTINEL_PASSWORD'],
  gateway: ['REDIS_PASSWORD', 'REDIS_SENTINEL_PASSWORD', 'REDIRECT_KEYS'],
  'backend-sim': ['REGISTRY_TOKEN', 'REDIS_PASSWORD', 'REDIS_SENTINEL_PASSWORD', 'REDIRECT_KEYS'],
};
/** Nomad's default client max_kill_timeout: a longer kill_timeout is silently cut to it. */
const MAX_KILL_TIMEOUT_S = 30;
const LIVE_PATH = '/health/live';
const READY_PATH = '/health/ready';
const SENTINEL_SERVICE = 'lb-redis-sentinel';
const SECRET_NAME = /TOKEN|SECRET|PASSWORD|REDIRECT_KEYS/;

// ------------------------------------------------------------------------------------------ model

/** A job file as plain data: groups, ports, services, tasks with their env, config and templates. */
function jobModel(parsed) {
  const ev = hclEvaluator(parsed);
  const [name, job] = labeled(parsed.job)[0];
  const groups = labeled(job.group).map(([groupName, g]) => {
    const ports = Object.fromEntries(blocks(g.network).flatMap((n) => labeled(n.port)).map(([label, p]) => [label, { static: ev.evaluate(p.static), to: ev.evaluate(p.to) }]));
    const tasks = labeled(g.task).map(([taskName, t]) => ({
      name: taskName,
      body: t,
      prestart: blocks(t.lifecycle).some((l) => l.hook === 'prestart'),
      config: Object.fromEntries(Object.entries(merged(t.config)).map(([k, v]) => [k, ev.evaluate(v)])),
      env: Object.fromEntries(Object.entries(merged(t.env)).map(([k, v]) => [k, String(ev.evaluate(v))])),
      templates: blocks(t.template).map((tpl) => ({ ...tpl, data: String(ev.evaluate(tpl.data) ?? ''), changeMode: tpl.change_mode ?? 'restart' })),
      killTimeout: ev.evaluate(t.kill_timeout),
      resources: Object.fromEntries(Object.entries(merged(t.resources)).map(([k, v]) => [k, ev.evaluate(v)])),
    }));
    const services = [...blocks(g.service), ...tasks.flatMap((t) => blocks(t.body.service))];
    const constraints = [...blocks(g.constraint), ...blocks(g.dynamic && g.dynamic.constraint).flatMap((d) => blocks(d.content))];
    return { name: groupName, body: g, ports, tasks, services, constraints, count: g.count, countDefault: ev.evaluate(g.count), ev };
  });
  return { name, job, type: job.type ?? 'service', groups, vars: ev.vars, ev };
}

const templateKeys = (data) => [...data.matchAll(/^\s*([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]);
const varPaths = (data) => [...data.matchAll(/nomadVar\s+"([^"]+)"/g)].map((m) => m[1]);
/** `KEY={{ .field }}` inside `{{ with nomadVar "path" }}`: { path, field } for KEY, or undefined. */
function secretSource(data, key) {
  for (const m of data.matchAll(/\{\{\s*with\s+nomadVar\s+"([^"]+)"\s*-?\}\}([\s\S]*?)\{\{-?\s*end\s*\}\}/g)) {
    const field = new RegExp(`^\\s*${key}=\\{\\{\\s*\\.([A-Za-z0-9_]+)\\s*\\}\\}`, 'm').exec(m[2]);
    if (field) return { path: m[1], field: field[1] };
  }
  return undefined;
}

/** Container-side port for a group network port: `to`, else the (static or dynamic) host port. */
function containerPort(port, label) {
  if (port.to !== undefined && port.to !== -1) return String(port.to);
  if (port.static !== undefined) return String(port.static);
  return `\${NOMAD_PORT_${label}}`;
}

// ------------------------------------------------------------------------------------------ checks

async function loadNomad(ctx) {
  const jobs = {};
  for (const name of Object.keys(JOBS)) if (!ctx.exists(`${NOMAD_DIR}/${name}.nomad.hcl`)) ctx.error(`${NOMAD_DIR}/${name}.nomad.hcl`, 'missing');
  for (const file of ctx.list(NOMAD_DIR, /\.nomad\.hcl$/)) {
    const rel = `${NOMAD_DIR}/${file}`;
    const parsed = await ctx.hcl(rel);
    if (!parsed) continue;
    const count = labeled(parsed.job).length;
    if (count !== 1) {
      ctx.error(rel, `expected exactly one job block, found ${count}`);
      continue;
    }
    const stem = file.replace(/\.nomad\.hcl$/, '');
    const model = jobModel(parsed);
    if (model.name !== stem) ctx.error(rel, `job "${model.name}" should be named after its file ("${stem}"): \`nomad job scale ${stem} N\` and the README use that name`);
    jobs[stem] = { rel, stem, app: JOBS[stem] ?? null, ...model };
  }
  const policies = {};
  for (const file of ctx.list(POLICY_DIR, /\.policy\.hcl$/)) {
    const rel = `${POLICY_DIR}/${file}`;
    const parsed = await ctx.hcl(rel);
    if (parsed) policies[file.replace(/\.policy\.hcl$/, '')] = { rel, parsed };
  }
  return { jobs, policies };
}

function checkServices(ctx, job, group, serviceNames) {
  const { rel, app } = job;
  for (const service of group.services) {
    const name = service.name;
    if (service.provider !== 'nomad') ctx.error(rel, `service "${name}": provider should be "nomad" (Nomad native discovery, no Consul)`);
    if (name) serviceNames.set(name, rel);
    if (service.port !== undefined && !group.ports[service.port]) ctx.error(rel, `service "${name}": port "${service.port}" is not a network port of group "${group.name}"`);
    if (blocks(service.check_restart).length) ctx.error(rel, `service "${name}": check_restart on the service applies to every check, readiness too; put it inside the ${LIVE_PATH} check only`);
    const checks = blocks(service.check);
    for (const check of checks) {
      const portLabel = check.port ?? service.port;
      const restarts = blocks(check.check_restart).some((r) => Number(r.limit ?? 0) > 0);
      if (portLabel !== undefined && !group.ports[portLabel]) ctx.error(rel, `service "${name}": check port "${portLabel}" is not a network port of group "${group.name}"`);
      if (!app) continue;
      if (check.type === 'http' && ![LIVE_PATH, READY_PATH].includes(check.path)) ctx.error(rel, `service "${name}": check on ${check.path}; an app is checked on ${LIVE_PATH} (restarts) and ${READY_PATH} (only reports)`);
      if (restarts && check.path !== LIVE_PATH) ctx.error(rel, `service "${name}": check "${check.name ?? check.path}" has check_restart; only the ${LIVE_PATH} check may restart a task (a Redis outage must restart nothing)`);
      if (check.type === 'http' && [LIVE_PATH, READY_PATH].includes(check.path)) checkHealthPort(ctx, job, group, service, check, portLabel, restarts);
    }
    // A service is either a bare registration (lb-gateway-admin, a scrape target) or carries both.
    if (app && checks.length > 0) {
      for (const [path, what] of [[LIVE_PATH, 'liveness'], [READY_PATH, 'readiness']]) {
        if (!checks.some((c) => c.type === 'http' && c.path === path)) ctx.error(rel, `service "${name}": has checks but no ${what} check (http on ${path})`);
      }
    }
  }
}

/** The /health/* checks run on the port where the app serves them; liveness restarts, readiness does not. */
function checkHealthPort(ctx, job, group, service, check, portLabel, restarts) {
  job.healthChecks.push({ path: check.path, restarts });
  const port = group.ports[portLabel];
  if (!port) return;
  const healthVar = ctx.healthPortVar[job.app];
  for (const task of group.tasks.filter((t) => !t.prestart)) {
    const listens = String(task.env[healthVar] ?? ctx.apps[job.app].ports[healthVar]);
    const target = containerPort(port, portLabel);
    if (listens !== target) ctx.error(job.rel, `service "${service.name}": its ${check.path} check uses port "${portLabel}" (container port ${target}) but task "${task.name}" serves /health/* on ${healthVar}=${listens}`);
  }
}

function checkTask(ctx, job, group, task) {
  const { rel, app } = job;
  const where = `task "${task.name}"`;
  if (task.body.driver !== 'docker') ctx.error(rel, `${where}: driver should be "docker"`);
  const image = String(task.body.config && merged(task.body.config).image);
  if (/:latest$/.test(image) || (!/:/.test(image) && !/\$\{/.test(image))) ctx.error(rel, `${where}: image ${image} has no tag or the floating :latest`);
  for (const label of blocks(task.config.ports)) if (!group.ports[label]) ctx.error(rel, `${where}: docker port "${label}" is not a network port of group "${group.name}"`);
  for (const [key, value] of Object.entries(task.env)) {
    // A switch (REQUIRE_GATEWAY_TOKEN) names a secret but is none.
    if (SECRET_NAME.test(key) && !/^(true|false)$/.test(value)) ctx.error(rel, `${where}: ${key} is set in env; secrets come from a template reading a Nomad Variable`);
  }
  // ps, docker inspect and `nomad alloc status` show a task's arguments.
  if (/requirepass|masterauth|password/i.test(JSON.stringify([task.config.command, task.config.entrypoint, task.config.args]))) {
    ctx.error(rel, `${where}: a password is on the command line (config.args); render it into a file or the environment under secrets/`);
  }
  for (const tpl of task.templates) {
    if (/nomadVar/.test(tpl.data) && !/^secrets\//.test(String(tpl.destination ?? ''))) {
      ctx.error(rel, `${where}: a template with secrets should render under secrets/ (got ${JSON.stringify(tpl.destination)})`);
    }
    // Issue 12.2: a discovered address that restarts its task when the service moves restarts the fleet.
    for (const m of tpl.data.matchAll(/nomadService\s+"([^"]+)"/g)) {
      if (tpl.changeMode === 'restart') ctx.error(rel, `${where}: template ${tpl.destination} renders the address of "${m[1]}" with change_mode "restart": every move of ${m[1]} restarts every allocation of this job; use "noop" (read at start, followed at run time) or "signal" (reload)`);
      job.lookups.push({ task: task.name, service: m[1] });
    }
    if (/--(requirepass|masterauth)\b/.test(tpl.data)) ctx.error(rel, `${where}: template ${tpl.destination} passes the password as --requirepass/--masterauth, on a command line ps shows; put it in the config file`);
    for (const p of varPaths(tpl.data)) job.varPaths.add(p);
  }
  if (task.prestart) return;
  const memory = Number(task.resources.memory);
  const memoryMax = Number(task.resources.memory_max);
  if (!(memoryMax > memory)) ctx.error(rel, `${where}: resources.memory_max should be set above memory (${task.resources.memory} MB) so a burst is not OOM-killed at the reservation (needs memory oversubscription on)`);
  const kill = durationSeconds(task.killTimeout);
  if (kill === undefined) ctx.error(rel, `${where}: kill_timeout should be set (e.g. "30s") so a drain can finish`);
  else if (kill < 5 || kill > MAX_KILL_TIMEOUT_S) ctx.error(rel, `${where}: kill_timeout ${task.killTimeout} should be within 5s-${MAX_KILL_TIMEOUT_S}s (Nomad's default max_kill_timeout; a longer one is cut to it)`);
  if (app) checkAppTask(ctx, job, group, task, where);
}

function checkAppTask(ctx, job, group, task, where) {
  const { rel, app } = job;
  const { ports, env } = ctx.apps[app];
  if (task.body.kill_signal !== 'SIGTERM') ctx.error(rel, `${where}: kill_signal should be "SIGTERM" (the apps drain on it)`);
  if (!/\$\{var\./.test(merged(task.body.config).image ?? '')) ctx.error(rel, `${where}: image should come from variables (image and tag), not a literal`);
  // Issue 12.1: a variable the app never reads, rendered with change_mode restart, only restarts it.
  const given = [...Object.keys(task.env), ...task.templates.flatMap((t) => templateKeys(t.data))];
  for (const key of given) if (!env.has(key)) ctx.error(rel, `${where}: sets ${key}, which ${app} does not read (not in its env schema)`);
  if (given.includes('REDIS_URL')) ctx.error(rel, `${where}: REDIS_URL names one Redis; give the apps REDIS_SENTINELS so they follow a failover`);
  if (!task.templates.some((t) => /^\s*REDIS_SENTINELS=/m.test(t.data) && t.data.includes(`nomadService "${SENTINEL_SERVICE}"`))) {
    ctx.error(rel, `${where}: REDIS_SENTINELS should come from a template listing the Nomad service ${SENTINEL_SERVICE}`);
  }
  for (const name of SECRET_ENV[app]) {
    if (!task.templates.some((t) => t.env === true && secretSource(t.data, name))) ctx.error(rel, `${where}: ${name} should come from a template block (env = true) reading a Nomad Variable with nomadVar`);
  }
  const listening = new Set(Object.entries(ports).map(([name, def]) => String(task.env[name] ?? def)));
  for (const [label, port] of Object.entries(group.ports)) {
    const target = containerPort(port, label);
    if (!listening.has(target)) ctx.error(rel, `${where}: network port "${label}" goes to container port ${target}, where ${app} does not listen (${[...listening].join(', ')})`);
  }
}

function checkPlacement(ctx, job, group) {
  const { rel, app } = job;
  const distinct = group.constraints.some((c) => c.operator === 'distinct_hosts' || c.distinct_hosts === true);
  const countVar = /^\$\{var\.([\w-]+)\}$/.exec(String(group.count ?? ''));
  if (app) {
    if (!countVar) ctx.error(rel, `group "${group.name}": count should be a variable (e.g. count = var.${job.stem.replace(/-/g, '_')}_count) so scaling needs no edit`);
    else if (typeof job.vars[countVar[1]] !== 'number') ctx.error(rel, `variable "${countVar[1]}" (the count) should be declared with a numeric default`);
  }
  if (app === 'backend-sim') {
    if (!group.constraints.some((c) => /node\.class|meta\./.test(String(c.attribute)))) ctx.error(rel, `group "${group.name}": backends should be constrained to a node class or metadata (a variable)`);
    const scaling = merged(group.body.scaling);
    const [min, max] = [group.ev.evaluate(scaling.min), group.ev.evaluate(scaling.max)];
    if (typeof min !== 'number' || typeof max !== 'number') ctx.error(rel, `group "${group.name}": needs a scaling block with min and max, so \`nomad job scale ${job.stem} N\` stays within bounds`);
    else if (!(min <= group.countDefault && group.countDefault <= max)) ctx.error(rel, `group "${group.name}": count ${group.countDefault} is outside scaling bounds ${min}-${max}`);
  } else if (job.type !== 'system' && !distinct) {
    ctx.error(rel, `group "${group.name}": needs a distinct_hosts constraint: two instances on one node fail together`);
  }
}

/**
 * Redis runs under Sentinel: a Redis group on a host volume and at least three sentinels; one
 * template renders requirepass from a Nomad Variable, the start script hands that file to
 * redis-server as its first argument, and every app authenticates with the same variable and key.
 */
function checkRedis(ctx, jobs) {
  const redis = jobs.redis;
  if (!redis) return;
  const { rel } = redis;
  const byService = (name) => redis.groups.find((g) => g.services.some((s) => s.name === name));
  const data = byService('lb-redis');
  const sentinels = byService(SENTINEL_SERVICE);
  if (!data) ctx.error(rel, 'no group registers the service lb-redis');
  else if (!blocks(data.body.volume).some((v) => labeled(v).some(([, body]) => body.type === 'host'))) ctx.error(rel, `group "${data.name}": Redis should be pinned where its data lives (a host volume)`);
  if (!sentinels) ctx.error(rel, `no group registers the service ${SENTINEL_SERVICE}: run Redis under Sentinel`);
  else if (!(sentinels.countDefault >= 3)) ctx.error(rel, `group "${sentinels.name}": ${sentinels.countDefault} sentinels cannot fail over after losing one; run at least 3`);

  const auth = redis.groups.flatMap((g) => g.tasks.flatMap((t) => t.templates)).find((t) => /^\s*requirepass\s/m.test(t.data) && varPaths(t.data).length);
  if (!auth) {
    ctx.error(rel, 'Redis should require a password: a template rendering `requirepass` from a Nomad Variable (nomadVar) into a file under secrets/');
    return;
  }
  const file = `/${String(auth.destination)}`;
  const path = varPaths(auth.data)[0];
  const field = /with\s+\.([A-Za-z0-9_]+)/.exec(auth.data);
  for (const group of [data, sentinels].filter(Boolean)) {
    for (const task of group.tasks) {
      const script = task.templates.map((t) => t.data).join('\n');
      const server = /exec\s+\S*\s*(redis-server|redis-sentinel)\s+(\S+)([^\n]*)/.exec(script);
      if (!server) ctx.error(rel, `task "${task.name}": no start script that execs redis-server or redis-sentinel`);
      else if (server[1] === 'redis-server' && !/--sentinel/.test(server[3]) && server[2] !== file) ctx.error(rel, `task "${task.name}": redis-server should take ${file} (the config with requirepass) as its first argument`);
      if (!task.templates.includes(auth) && !task.templates.some((t) => t.data === auth.data)) ctx.error(rel, `task "${task.name}": does not render the password template`);
    }
  }
  for (const app of Object.keys(SECRET_ENV)) {
    for (const task of (jobs[app] ? jobs[app].groups : []).flatMap((g) => g.tasks)) {
      for (const key of ['REDIS_PASSWORD', 'REDIS_SENTINEL_PASSWORD']) {
        const source = task.templates.map((t) => secretSource(t.data, key)).find(Boolean);
        if (source && (source.path !== path || (field && source.field !== field[1]))) {
          ctx.error(jobs[app].rel, `${key} comes from ${source.path} key ${source.field}, but Redis's requirepass from ${path} key ${field ? field[1] : '?'}: the app would authenticate with another password`);
        }
      }
    }
  }
}

function checkBackendSim(ctx, jobs) {
  const job = jobs['backend-sim'];
  if (!job) return;
  const { rel } = job;
  for (const group of job.groups) {
    const http = group.ports.http;
    if (!http) {
      ctx.error(rel, `group "${group.name}": needs a network port named "http" (ADVERTISE_URL falls back to NOMAD_IP_http:NOMAD_PORT_http)`);
      continue;
    }
    if (http.static !== undefined) ctx.error(rel, `group "${group.name}": port "http" should be dynamic (no static) so several backends fit on one node`);
    if (http.to !== undefined) ctx.error(rel, `group "${group.name}": port "http" must not set \`to\`: NOMAD_PORT_http would then be the container port, and the advertised NOMAD_IP_http:NOMAD_PORT_http would be unreachable`);
    for (const task of group.tasks.filter((t) => !t.prestart)) {
      const where = `task "${task.name}"`;
      if (task.env.BACKEND_PORT !== '${NOMAD_PORT_http}') ctx.error(rel, `${where}: BACKEND_PORT should be "\${NOMAD_PORT_http}" so the app listens on the port Nomad allocated`);
      if (task.env.ADVERTISE_URL !== undefined) ctx.error(rel, `${where}: leave ADVERTISE_URL unset; the app derives it from NOMAD_IP_http/NOMAD_PORT_http`);
      if (task.env.BACKEND_ID !== undefined) ctx.warn(rel, `${where}: BACKEND_ID is set; every allocation would register under the same id unless it includes the allocation id`);
      // Issue 12.5: requests may run BACKEND_MAX_WORK_MS; the task must get that long to stop.
      const maxWorkS = Number(task.env.BACKEND_MAX_WORK_MS ?? ctx.apps['backend-sim'].defaults.BACKEND_MAX_WORK_MS) / 1000;
      const kill = durationSeconds(task.killTimeout);
      if (kill !== undefined && kill < maxWorkS + 5) ctx.error(rel, `${where}: kill_timeout ${task.killTimeout} is shorter than BACKEND_MAX_WORK_MS (${maxWorkS}s) plus 5s: requests it accepted are cut at shutdown`);
      // The registry through the registry-proxy on the same node: a fixed address that follows the registry.
      const proxy = jobs['registry-proxy'];
      const proxyPort = proxy && proxy.groups[0] && proxy.groups[0].ports.http && proxy.groups[0].ports.http.static;
      const expected = `http://\${NOMAD_IP_http}:${proxyPort}`;
      if (task.env.REGISTRY_URL !== expected) ctx.error(rel, `${where}: REGISTRY_URL should be ${expected}, the registry-proxy on the backend's own node (got ${task.env.REGISTRY_URL})`);
      if (!/\$\{var\./.test(String(merged(task.body.env).REQUIRE_GATEWAY_TOKEN))) ctx.error(rel, `${where}: REQUIRE_GATEWAY_TOKEN should come from a variable, so redirect mode needs no edit`);
    }
  }
  const gateway = jobs.gateway;
  const mode = gateway && gateway.groups.flatMap((g) => g.tasks).find((t) => !t.prestart);
  if (mode && !/\$\{var\./.test(String(merged(mode.body.env).GATEWAY_MODE))) ctx.error(gateway.rel, `task "${mode.name}": GATEWAY_MODE should come from a variable, so redirect mode needs no edit`);
}

function checkProxyAndLogs(ctx, jobs) {
  const proxy = jobs['registry-proxy'];
  if (proxy) {
    if (proxy.type !== 'system') ctx.error(proxy.rel, 'should be a system job: every node that runs backends needs its own proxy');
    const tpl = proxy.groups.flatMap((g) => g.tasks.flatMap((t) => t.templates)).find((t) => t.data.includes('nomadService "lb-registry"'));
    if (!tpl) ctx.error(proxy.rel, 'no template lists the Nomad service lb-registry');
    const port = proxy.groups[0] && proxy.groups[0].ports.http;
    if (!port || port.static === undefined) ctx.error(proxy.rel, 'port "http" should be static: it is the registry\'s fixed address on every node');
  }
  const alloy = jobs.alloy;
  if (alloy) {
    if (alloy.type !== 'system') ctx.error(alloy.rel, 'should be a system job: Alloy reads the log files of its own node');
    const files = alloy.groups.flatMap((g) => g.tasks.flatMap((t) => t.templates)).flatMap((t) => [...t.data.matchAll(/\$\{file\("([^"]+)"\)\}/g)].map((m) => m[1]));
    if (files.length === 0) ctx.error(alloy.rel, 'no template reads the Alloy configuration with file("infra/observability/alloy/...")');
    for (const file of files) if (!ctx.exists(file)) ctx.error(alloy.rel, `file("${file}"): no such file (relative to the repository root, where \`nomad job run\` runs)`);
  }
}

/** A job reads exactly the Nomad Variables its policy grants (read), no more, no less. */
function checkPolicies(ctx, jobs, policies) {
  for (const job of Object.values(jobs)) {
    const needed = [...job.varPaths].filter((p) => p !== `nomad/jobs/${job.stem}` && !p.startsWith(`nomad/jobs/${job.stem}/`));
    const policy = policies[job.stem];
    const granted = new Set();
    for (const [, ns] of policy ? labeled(policy.parsed.namespace) : []) {
      for (const v of blocks(ns.variables)) for (const [p, body] of labeled(v.path)) if (blocks(body.capabilities).includes('read')) granted.add(p);
    }
    for (const p of needed) if (!granted.has(p)) ctx.error(job.rel, `reads Nomad Variable "${p}", which ${POLICY_DIR}/${job.stem}.policy.hcl does not grant (a job reads only nomad/jobs/${job.stem} without one)`);
    for (const p of granted) if (!needed.includes(p)) ctx.error(policy.rel, `grants read on "${p}", which job "${job.stem}" never reads: grant only what it reads`);
  }
  for (const [name, { rel }] of Object.entries(policies)) if (!jobs[name]) ctx.error(rel, `no job "${name}" in ${NOMAD_DIR} for this policy`);
}

async function checkNomad(ctx) {
  const { jobs, policies } = await loadNomad(ctx);
  const serviceNames = new Map();
  for (const job of Object.values(jobs)) {
    job.healthChecks = [];
    job.lookups = [];
    job.varPaths = new Set();
    if (job.groups.length === 0) ctx.error(job.rel, 'no group');
    for (const group of job.groups) {
      checkServices(ctx, job, group, serviceNames);
      for (const task of group.tasks) checkTask(ctx, job, group, task);
      checkPlacement(ctx, job, group);
    }
    if (job.app && !job.healthChecks.some((c) => c.path === LIVE_PATH && c.restarts)) ctx.error(job.rel, `no liveness check: an http check on ${LIVE_PATH} with check_restart (limit > 0), the only check that restarts the task`);
    if (job.app && !job.healthChecks.some((c) => c.path === READY_PATH)) ctx.error(job.rel, `no readiness check: an http check on ${READY_PATH}, without check_restart`);
  }
  for (const job of Object.values(jobs)) {
    for (const { task, service } of job.lookups) if (!serviceNames.has(service)) ctx.error(job.rel, `task "${task}": template looks up service "${service}", which no job in ${NOMAD_DIR} registers`);
  }
  checkRedis(ctx, jobs);
  checkBackendSim(ctx, jobs);
  checkProxyAndLogs(ctx, jobs);
  checkPolicies(ctx, jobs, policies);
  return jobs;
}

module.exports = { checkNomad };
