'use strict';
/**
 * Static checks of infra/ that need no Docker, Nomad, Loki or Grafana: every file parses, and the
 * files agree with each other and with the apps (ports, paths, service names, labels, secrets).
 * Used by tools/infra/check-infra.mjs (CLI) and tools/infra/infra.int-spec.ts (jest).
 *
 * A finding is { severity: 'error' | 'warning', file, message }. Errors are wrong configuration;
 * warnings are facts worth knowing that are not (yet) wrong, e.g. a dashboard metric that no code
 * exports yet.
 *
 * Needs `@cdktf/hcl2json` (Nomad HCL, the Go HCL parser compiled to wasm, offline) and `yaml`.
 */
const fs = require('node:fs');
const path = require('node:path');
const { createRequire } = require('node:module');

const APPS = ['gateway', 'registry', 'backend-sim'];

/** Every port each app listens on: variable -> default. /health/* is on HEALTH_PORT_VAR's port. */
const APP_PORTS = {
  gateway: { GATEWAY_PORT: 8080, GATEWAY_ADMIN_PORT: 9080 },
  registry: { REGISTRY_PORT: 8090 },
  'backend-sim': { BACKEND_PORT: 8101 },
};
const HEALTH_PORT_VAR = { gateway: 'GATEWAY_ADMIN_PORT', registry: 'REGISTRY_PORT', 'backend-sim': 'BACKEND_PORT' };

/** The Nomad job files that must exist, and the app (if any) each one runs. */
const NOMAD_JOBS = { redis: null, registry: 'registry', gateway: 'gateway', 'backend-sim': 'backend-sim' };
const OBSERVABILITY_SERVICES = ['loki', 'promtail', 'prometheus', 'grafana'];
/** Nomad's default client max_kill_timeout: a longer kill_timeout is silently cut to it. */
const MAX_KILL_TIMEOUT_S = 30;
/** Liveness (the process works; the only check that may restart it) and readiness (can do its job). */
const LIVE_PATH = '/health/live';
const READY_PATH = '/health/ready';
/** Secrets each app job gets from a Nomad Variable, rendered as environment by a template. */
const NOMAD_SECRET_ENV = { registry: ['REGISTRY_TOKEN', 'REDIS_PASSWORD'], 'backend-sim': ['REGISTRY_TOKEN', 'REDIS_PASSWORD'], gateway: ['REDIS_PASSWORD'] };

const P = {
  dockerfile: 'infra/docker/Dockerfile',
  dockerignore: 'infra/docker/Dockerfile.dockerignore',
  healthcheck: 'infra/docker/healthcheck.cjs',
  compose: 'infra/docker/docker-compose.yml',
  composeEnvExample: 'infra/docker/redis.env.example',
  nomadDir: 'infra/nomad',
  loki: 'infra/observability/loki/loki.yml',
  promtail: 'infra/observability/promtail/promtail.yml',
  prometheus: 'infra/observability/prometheus/prometheus.yml',
  datasources: 'infra/observability/grafana/provisioning/datasources',
  dashboardProviders: 'infra/observability/grafana/provisioning/dashboards',
  dashboards: 'infra/observability/grafana/dashboards',
};

// ------------------------------------------------------------------------------------------ helpers

function loadHcl2json() {
  try {
    return require('@cdktf/hcl2json');
  } catch (err) {
    const e = new Error('the HCL parser @cdktf/hcl2json is not installed: npm install --save-dev --save-exact @cdktf/hcl2json@0.21.0');
    e.code = 'LB_INFRA_MISSING_PARSER';
    e.cause = err;
    throw e;
  }
}

/** HCL parses are slow (~50-150 ms a file), so they are cached by content across runs. */
const hclCache = new Map();

async function parseHclText(name, text) {
  const hcl = loadHcl2json();
  if (!hclCache.has(text)) hclCache.set(text, hcl.parse(name, text).then((v) => ({ ok: true, v }), (e) => ({ ok: false, e })));
  const result = await hclCache.get(text);
  if (!result.ok) throw result.e;
  return result.v;
}

/** An HCL block as hcl2json returns it: a list of bodies (or one body); always an array here. */
function blocks(value) {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

/** Labeled blocks (`group "x" {}`): [[label, body], ...]. */
function labeled(value) {
  if (!value || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([label, bodies]) => blocks(bodies).map((body) => [label, body]));
}

/** "${var.name}" -> "name" */
function varRef(value) {
  const m = typeof value === 'string' ? /^\$\{var\.([A-Za-z_][A-Za-z0-9_-]*)\}$/.exec(value) : null;
  return m ? m[1] : undefined;
}

function durationSeconds(value) {
  const m = typeof value === 'string' ? /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(value) : null;
  if (!m) return undefined;
  return Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2]];
}

function asPort(value) {
  const n = typeof value === 'number' ? value : /^\d+$/.test(String(value)) ? Number(value) : NaN;
  return Number.isInteger(n) && n > 0 && n < 65536 ? n : undefined;
}

/** Glob -> RegExp with Docker's .dockerignore rules (`**` any depth, `*` and `?` within a segment). */
function globToRegExp(glob) {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') {
      if (glob[i + 1] === '*') {
        i++;
        if (glob[i + 1] === '/') {
          i++;
          re += '(?:.*/)?';
        } else re += '.*';
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i);
      if (end < 0) re += '\\[';
      else {
        re += `[${glob.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else if (c === '\\' && i + 1 < glob.length) re += `\\${glob[++i]}`;
    else re += c.replace(/[.+^${}()|\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/**
 * A .dockerignore as BuildKit applies it: the last pattern that matches a path or one of its
 * parent folders decides; `!` re-includes.
 */
function dockerignoreMatcher(text) {
  const patterns = [];
  for (const raw of text.split(/\r?\n/)) {
    if (raw.startsWith('#')) continue;
    let line = raw.trim();
    if (!line) continue;
    const exclusion = line.startsWith('!');
    if (exclusion) line = line.slice(1).trim();
    line = path.posix.normalize(line).replace(/^\/+/, '').replace(/\/+$/, '');
    if (line === '.' || line === '') continue;
    patterns.push({ exclusion, re: globToRegExp(line), source: raw.trim() });
  }
  return function isIgnored(file) {
    const clean = path.posix.normalize(file).replace(/^\.?\/+/, '');
    const parents = clean.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'));
    let ignored = false;
    for (const p of patterns) {
      if (parents.some((candidate) => p.re.test(candidate))) ignored = !p.exclusion;
    }
    return ignored;
  };
}

/** Dockerfile -> instructions, with continuation lines joined and comment lines dropped. */
function parseDockerfile(text) {
  const instructions = [];
  let current = null;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (/^\s*#/.test(line)) continue; // comments, also inside a continued instruction
    if (current === null) {
      if (!line.trim()) continue;
      const m = /^\s*([A-Za-z]+)\s*(.*)$/.exec(line);
      if (!m) continue;
      current = { keyword: m[1].toUpperCase(), args: '', line: i + 1 };
      current.args = m[2];
    } else {
      current.args += ` ${line.trim()}`;
    }
    if (/\\\s*$/.test(current.args)) current.args = current.args.replace(/\\\s*$/, '');
    else {
      current.args = current.args.replace(/\s+/g, ' ').trim();
      instructions.push(current);
      current = null;
    }
  }
  if (current) instructions.push({ ...current, args: current.args.trim() });

  const globalArgs = {};
  const stages = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      stages.push({ from: m ? m[1] : ins.args, name: m && m[2] ? m[2] : String(stages.length), line: ins.line, instructions: [] });
    } else if (stages.length === 0) {
      if (ins.keyword === 'ARG') {
        const [name, value] = ins.args.split('=');
        globalArgs[name.trim()] = value === undefined ? undefined : value.trim();
      }
    } else stages[stages.length - 1].instructions.push(ins);
  }
  return { instructions, globalArgs, stages };
}

/** ["a", "b"] exec form -> array; shell form -> undefined. */
function execForm(args) {
  const json = args.replace(/^(?:--\S+\s+)*/, '');
  if (!json.startsWith('[')) return undefined;
  try {
    const v = JSON.parse(json);
    return Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** COPY/ADD arguments: { from, sources, dest } (exec form or plain). */
function parseCopy(args) {
  const flags = {};
  let rest = args;
  for (;;) {
    const m = /^--([a-z-]+)(?:=(\S+))?\s+/.exec(rest);
    if (!m) break;
    flags[m[1]] = m[2] ?? true;
    rest = rest.slice(m[0].length);
  }
  const parts = execForm(rest) ?? rest.split(/\s+/);
  return { from: flags.from, sources: parts.slice(0, -1), dest: parts[parts.length - 1] };
}

function urlOf(value) {
  if (typeof value !== 'string' || !URL.canParse(value)) return undefined;
  return new URL(value);
}

function walk(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : walk(full);
    return [full];
  });
}

// ------------------------------------------------------------------------------------------ context

class Context {
  constructor(root) {
    this.root = path.resolve(root);
    this.findings = [];
    this.texts = new Map();
    this.requireFromRoot = createRequire(path.join(this.root, 'package.json'));
    this.YAML = require('yaml');
  }

  error(file, message) {
    this.findings.push({ severity: 'error', file, message });
  }

  warn(file, message) {
    this.findings.push({ severity: 'warning', file, message });
  }

  abs(rel) {
    return path.join(this.root, rel);
  }

  exists(rel) {
    return fs.existsSync(this.abs(rel));
  }

  /** The file's text, or undefined (and an error) when it is missing. */
  read(rel) {
    if (this.texts.has(rel)) return this.texts.get(rel);
    let text;
    try {
      text = fs.readFileSync(this.abs(rel), 'utf8');
    } catch {
      this.error(rel, 'missing');
    }
    this.texts.set(rel, text);
    return text;
  }

  /** YAML with `<<` merge keys (docker compose uses them); undefined (and an error) when invalid. */
  yaml(rel) {
    const text = this.read(rel);
    if (text === undefined) return undefined;
    const doc = this.YAML.parseDocument(text, { merge: true, uniqueKeys: true });
    if (doc.errors.length > 0) {
      this.error(rel, `invalid YAML: ${doc.errors[0].message.split('\n')[0]}`);
      return undefined;
    }
    const value = doc.toJS({ maxAliasCount: 1000 });
    if (!value || typeof value !== 'object') {
      this.error(rel, 'expected a YAML mapping');
      return undefined;
    }
    return value;
  }

  json(rel) {
    const text = this.read(rel);
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text);
    } catch (err) {
      this.error(rel, `invalid JSON: ${err.message}`);
      return undefined;
    }
  }

  async hcl(rel) {
    const text = this.read(rel);
    if (text === undefined) return undefined;
    try {
      return await parseHclText(rel, text);
    } catch (err) {
      if (err && err.code === 'LB_INFRA_MISSING_PARSER') throw err;
      this.error(rel, `invalid HCL: ${String(err && err.message ? err.message : err).replace(/^parse config: /, '')}`);
      return undefined;
    }
  }
}

// ------------------------------------------------------------------------------------------ secrets

/** Names that hold credentials; their values must come from the environment or a secret store. */
const SECRET_KEY = /([A-Za-z0-9_.-]*(?:token|secret|password|passwd|private[_-]?key|redirect[_-]keys)[A-Za-z0-9_]*)["']?\s*([:=])\s*("[^"]*"|'[^']*'|[^\s,}#]+)/gi;
/** Values that are references, not secrets: ${ENV}, $(cmd), {{ template }}, var.x, <placeholder>. */
const REFERENCE_VALUE = /^(?:\$\{|\$\(|\$[A-Za-z_]|\{\{|var\.|<[^>]*>$|\.\.\.|\(hidden\)|\[redacted\]|$)/;

function checkSecrets(ctx) {
  // .env is the git-ignored file that holds the real values (infra/docker/.env for compose).
  const files = walk(ctx.abs('infra')).filter((f) => !/\.(png|jpe?g|gz|ico)$/.test(f) && path.basename(f) !== '.env');
  for (const file of files) {
    const rel = path.relative(ctx.root, file);
    const text = ctx.read(rel);
    if (text === undefined) continue;
    text.split(/\r?\n/).forEach((line, i) => {
      if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(line)) ctx.error(rel, `line ${i + 1}: a private key`);
      if (/\bAKIA[0-9A-Z]{16}\b/.test(line)) ctx.error(rel, `line ${i + 1}: an AWS access key id`);
      // Redis configuration: `requirepass <value>` (no `=`), in code and config only, not in comments or prose.
      for (const m of /^\s*#/.test(line) || rel.endsWith('.md') ? [] : line.matchAll(/\brequirepass\s+("[^"]*"|'[^']*'|[^\s"']+)/g)) {
        if (!/\$|\{\{/.test(m[1])) ctx.error(rel, `line ${i + 1}: requirepass has a literal value; take it from the environment or a Nomad Variable`);
      }
      for (const m of line.matchAll(SECRET_KEY)) {
        const key = m[1];
        // ${REDIS_PASSWORD:?message} names a variable; its own `:` is no assignment.
        if (line.slice(0, m.index).endsWith('${')) continue;
        // In Markdown, "token: ..." is prose; only assignments (KEY=value, as in commands) count.
        if (m[2] === ':' && rel.endsWith('.md')) continue;
        const value = m[3].replace(/^["']|["']$/g, '').trim();
        if (/^(?:destination|path|file|filename|description|type|name)$/i.test(key)) continue;
        if (/_(?:FILE|PATH|URL|HOST|PORT|TTL_MS|MS)$/i.test(key)) continue;
        if (REFERENCE_VALUE.test(value)) continue;
        // A value built from a command or a variable ("k1:$(openssl rand ...)") is made, not written.
        if (/\$[({]/.test(value)) continue;
        // A switch (REQUIRE_GATEWAY_TOKEN=true) names a secret but is none.
        if (/^(?:true|false)[`.]*$/i.test(value)) continue;
        ctx.error(rel, `line ${i + 1}: ${key} has a literal value; take it from the environment or a Nomad Variable`);
      }
    });
  }
}

// ------------------------------------------------------------------------------------------ nomad

async function loadNomad(ctx) {
  const dir = ctx.abs(P.nomadDir);
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.hcl')).sort() : [];
  const jobs = {};
  const policies = [];
  for (const name of Object.keys(NOMAD_JOBS)) {
    if (!files.includes(`${name}.nomad.hcl`)) ctx.error(`${P.nomadDir}/${name}.nomad.hcl`, 'missing');
  }
  for (const file of files) {
    const rel = `${P.nomadDir}/${file}`;
    const parsed = await ctx.hcl(rel);
    if (!parsed) continue;
    if (file.endsWith('.nomad.hcl')) {
      const jobEntries = labeled(parsed.job);
      if (jobEntries.length !== 1) {
        ctx.error(rel, `expected exactly one job block, found ${jobEntries.length}`);
        continue;
      }
      const [jobName, job] = jobEntries[0];
      const stem = file.replace(/\.nomad\.hcl$/, '');
      if (jobName !== stem) ctx.error(rel, `job "${jobName}" should be named after its file ("${stem}"): \`nomad job scale ${stem} N\` and the README use that name`);
      jobs[stem] = { rel, name: jobName, job, variables: Object.fromEntries(labeled(parsed.variable)) };
    } else if (file.endsWith('.policy.hcl')) {
      policies.push({ rel, parsed });
    }
  }
  return { jobs, policies };
}

function taskEnv(task) {
  return Object.assign({}, ...blocks(task.env));
}

/** Container-side port for a group network port label: `to`, else the (static or dynamic) host port. */
function containerPort(portBody, label) {
  if (portBody.to !== undefined && portBody.to !== -1) return String(portBody.to);
  if (portBody.static !== undefined) return String(portBody.static);
  return `\${NOMAD_PORT_${label}}`;
}

function checkNomadJob(ctx, stem, { rel, job, variables }, serviceNames) {
  const app = NOMAD_JOBS[stem];
  const groups = labeled(job.group);
  if (groups.length === 0) ctx.error(rel, 'no group');
  const httpHealthChecks = [];
  let tcpChecks = 0;

  for (const [groupName, group] of groups) {
    const ports = Object.fromEntries(blocks(group.network).flatMap((n) => labeled(n.port)));
    const tasks = labeled(group.task);
    const services = [...blocks(group.service), ...tasks.flatMap(([, t]) => blocks(t.service))];

    if (app) {
      const countVar = varRef(group.count);
      if (!countVar) ctx.error(rel, `group "${groupName}": count should be a variable (e.g. count = var.${stem.replace(/-/g, '_')}_count) so scaling needs no edit`);
      else if (!variables[countVar]) ctx.error(rel, `group "${groupName}": count uses var.${countVar}, which is not declared`);
      else if (typeof variables[countVar].default !== 'number') ctx.error(rel, `variable "${countVar}" should have a numeric default`);
    }

    for (const service of services) {
      if (service.provider !== 'nomad') ctx.error(rel, `service "${service.name}": provider should be "nomad" (Nomad native discovery, no Consul)`);
      if (service.name) serviceNames.set(service.name, rel);
      if (service.port !== undefined && !ports[service.port]) ctx.error(rel, `service "${service.name}": port "${service.port}" is not a network port of group "${groupName}"`);
      const checks = blocks(service.check);
      if (blocks(service.check_restart).length) ctx.error(rel, `service "${service.name}": check_restart on the service applies to every check, readiness too; put it inside the ${LIVE_PATH} check only`);
      for (const check of checks) {
        const portLabel = check.port ?? service.port;
        const restarts = blocks(check.check_restart).some((r) => Number(r.limit ?? 0) > 0);
        if (check.type === 'tcp') tcpChecks++;
        if (check.type === 'http' && [LIVE_PATH, READY_PATH].includes(check.path)) httpHealthChecks.push({ groupName, portLabel, ports, tasks, service: service.name, path: check.path, restarts });
        if (check.type === 'http' && portLabel !== undefined && !ports[portLabel]) ctx.error(rel, `service "${service.name}": check port "${portLabel}" is not a network port of group "${groupName}"`);
        if (app && check.type === 'http' && ![LIVE_PATH, READY_PATH].includes(check.path)) ctx.error(rel, `service "${service.name}": check on ${check.path}; an app is checked on ${LIVE_PATH} (restarts) and ${READY_PATH} (only reports)`);
        if (restarts && check.path !== LIVE_PATH) ctx.error(rel, `service "${service.name}": check "${check.name ?? check.path}" has check_restart; only the ${LIVE_PATH} check may restart a task (a Redis outage must restart nothing)`);
      }
      // A service either is a bare registration (lb-gateway-admin, a scrape target) or carries both.
      if (app && checks.length > 0) {
        for (const [path, what] of [[LIVE_PATH, 'liveness'], [READY_PATH, 'readiness']]) {
          if (!checks.some((c) => c.type === 'http' && c.path === path)) ctx.error(rel, `service "${service.name}": has checks but no ${what} check (http on ${path})`);
        }
      }
    }

    for (const [taskName, task] of tasks) {
      const where = `task "${taskName}"`;
      if (task.driver !== 'docker') ctx.error(rel, `${where}: driver should be "docker"`);
      if (task.kill_signal !== 'SIGTERM') ctx.error(rel, `${where}: kill_signal should be "SIGTERM" (the apps drain on it)`);
      const kill = durationSeconds(task.kill_timeout);
      if (kill === undefined) ctx.error(rel, `${where}: kill_timeout should be set (e.g. "30s") so a drain can finish`);
      else if (kill < 5 || kill > MAX_KILL_TIMEOUT_S) ctx.error(rel, `${where}: kill_timeout ${task.kill_timeout} should be within 5s-${MAX_KILL_TIMEOUT_S}s (Nomad's default max_kill_timeout)`);
      const config = Object.assign({}, ...blocks(task.config));
      if (app) {
        if (typeof config.image !== 'string' || !/\$\{var\./.test(config.image)) ctx.error(rel, `${where}: image should come from variables (image and tag), not a literal`);
        if (typeof config.image === 'string' && /:latest$/.test(config.image)) ctx.error(rel, `${where}: image must not use the floating tag :latest`);
      }
      for (const label of blocks(config.ports)) if (!ports[label]) ctx.error(rel, `${where}: docker port "${label}" is not a network port of group "${groupName}"`);

      const env = taskEnv(task);
      for (const key of Object.keys(env)) {
        if (/TOKEN|SECRET|PASSWORD|REDIRECT_KEYS/.test(key)) ctx.error(rel, `${where}: ${key} is set in env; secrets come from a template reading a Nomad Variable`);
      }
      // ps, docker inspect and `nomad alloc status` show a task's arguments.
      if (/requirepass|redis_password/i.test(JSON.stringify([config.command, config.entrypoint, config.args]))) {
        ctx.error(rel, `${where}: the Redis password is on the command line (config.args); render it into a config file or the environment under secrets/`);
      }
      if (app) checkAppPorts(ctx, rel, app, where, env, ports);
    }
  }

  if (app && !httpHealthChecks.some((c) => c.path === LIVE_PATH && c.restarts)) ctx.error(rel, `no liveness check: an http check on ${LIVE_PATH} with check_restart (limit > 0), the only check that restarts the task`);
  if (app && !httpHealthChecks.some((c) => c.path === READY_PATH)) ctx.error(rel, `no readiness check: an http check on ${READY_PATH}, without check_restart`);
  if (!app && tcpChecks + httpHealthChecks.length === 0) ctx.error(rel, 'no service check');
  for (const check of httpHealthChecks) {
    if (!app) continue;
    const body = check.ports[check.portLabel];
    if (!body) continue;
    const healthVar = HEALTH_PORT_VAR[app];
    for (const [taskName, task] of check.tasks) {
      const env = taskEnv(task);
      const listens = String(env[healthVar] ?? APP_PORTS[app][healthVar]);
      const target = containerPort(body, check.portLabel);
      if (listens !== target) {
        ctx.error(rel, `service "${check.service}": its ${check.path} check uses port "${check.portLabel}" (container port ${target}) but task "${taskName}" serves /health/* on ${healthVar}=${listens}`);
      }
    }
  }
}

/** Each network port that maps into the container must land on a port the app listens on. */
function checkAppPorts(ctx, rel, app, where, env, ports) {
  const listening = new Set(Object.entries(APP_PORTS[app]).map(([name, def]) => String(env[name] ?? def)));
  for (const [label, body] of Object.entries(ports)) {
    const target = containerPort(body, label);
    if (!listening.has(target)) ctx.error(rel, `${where}: network port "${label}" goes to container port ${target}, where ${app} does not listen (${[...listening].join(', ')})`);
  }
}

function templatesOf(job) {
  return labeled(job.group).flatMap(([, g]) => labeled(g.task).flatMap(([taskName, t]) => blocks(t.template).map((tpl) => ({ taskName, tpl, env: taskEnv(t) }))));
}

async function checkNomad(ctx) {
  const { jobs, policies } = await loadNomad(ctx);
  const serviceNames = new Map();
  for (const [stem, job] of Object.entries(jobs)) checkNomadJob(ctx, stem, job, serviceNames);

  const varPathsUsed = [];
  for (const [stem, { rel, job }] of Object.entries(jobs)) {
    const templates = templatesOf(job);
    for (const { taskName, tpl } of templates) {
      const data = String(tpl.data ?? '');
      for (const m of data.matchAll(/nomadService\s+"([^"]+)"/g)) {
        if (!serviceNames.has(m[1])) ctx.error(rel, `task "${taskName}": template looks up service "${m[1]}", which no job in ${P.nomadDir} registers`);
      }
      for (const m of data.matchAll(/nomadVar\s+"([^"]+)"/g)) varPathsUsed.push({ stem, rel, path: m[1] });
      if (/nomadVar|TOKEN|SECRET|PASSWORD|requirepass/.test(data) && !/^secrets\//.test(String(tpl.destination ?? ''))) {
        ctx.error(rel, `task "${taskName}": a template with secrets should render under secrets/ (got ${JSON.stringify(tpl.destination)})`);
      }
    }
    // Apps get their secrets (registry token, Redis password) from a Nomad Variable, rendered as environment.
    for (const name of NOMAD_SECRET_ENV[stem] ?? []) {
      const ok = templates.some(({ tpl }) => tpl.env === true && /nomadVar\s+"[^"]+"/.test(String(tpl.data)) && new RegExp(`\\b${name}=\\{\\{`).test(String(tpl.data)));
      if (!ok) ctx.error(rel, `${name} should come from a template block (env = true) reading a Nomad Variable with nomadVar`);
    }
    // The password travels as REDIS_PASSWORD, never inside REDIS_URL (which ends up in logs and `nomad alloc status`).
    for (const { taskName, tpl, env } of templates) {
      for (const m of `${tpl.data ?? ''}\nREDIS_URL=${env.REDIS_URL ?? ''}`.matchAll(/\bREDIS_URL=(.*)$/gm)) {
        if (m[1].includes('@')) ctx.error(rel, `task "${taskName}": REDIS_URL carries credentials (user:password@); give the apps REDIS_PASSWORD instead`);
      }
    }
  }
  checkNomadRedisPassword(ctx, jobs);

  // A job reads nomad/jobs/<its own id> by default; any other path needs an ACL policy.
  for (const used of varPathsUsed) {
    if (used.path === `nomad/jobs/${used.stem}` || used.path.startsWith(`nomad/jobs/${used.stem}/`)) continue;
    const granted = policies.some(({ parsed }) =>
      labeled(parsed.namespace).some(([, ns]) =>
        blocks(ns.variables).some((v) => labeled(v.path).some(([p, body]) => (p === used.path || (p.endsWith('*') && used.path.startsWith(p.slice(0, -1)))) && blocks(body.capabilities).includes('read'))),
      ),
    );
    if (!granted) ctx.error(used.rel, `reads Nomad Variable "${used.path}", outside nomad/jobs/${used.stem}: add an ACL policy (*.policy.hcl) granting read on it`);
  }

  const backend = jobs['backend-sim'];
  if (backend) checkBackendSimJob(ctx, backend);
  return { jobs, serviceNames };
}

/**
 * Redis requires a password: its job renders `requirepass` from a Nomad Variable into a config file
 * under secrets/ and starts redis-server with that file, and every app reads the same variable and key.
 */
function checkNomadRedisPassword(ctx, jobs) {
  const redis = jobs.redis;
  if (!redis) return;
  const tasks = labeled(redis.job.group).flatMap(([, g]) => labeled(g.task));
  const conf = templatesOf(redis.job).find(({ tpl }) => /^\s*requirepass\s/m.test(String(tpl.data)) && /nomadVar\s+"[^"]+"/.test(String(tpl.data)));
  if (!conf) {
    ctx.error(redis.rel, 'Redis should require a password: a template rendering `requirepass` from a Nomad Variable (nomadVar) into a config file under secrets/');
    return;
  }
  const destination = String(conf.tpl.destination);
  for (const [taskName, task] of tasks) {
    const args = blocks(Object.assign({}, ...blocks(task.config)).args).map(String);
    const first = String(args[0] === 'redis-server' ? args[1] : args[0]);
    // In a docker task the secrets dir is /secrets, which is also what NOMAD_SECRETS_DIR says.
    if (first.replace('${NOMAD_SECRETS_DIR}', 'secrets').replace(/^\//, '') !== destination) {
      ctx.error(redis.rel, `task "${taskName}": redis-server should take ${destination} (the config with requirepass) as its first argument, e.g. "\${NOMAD_SECRETS_DIR}/${destination.replace(/^secrets\//, '')}"`);
    }
  }
  const confData = String(conf.tpl.data);
  for (const stem of Object.keys(NOMAD_SECRET_ENV)) {
    for (const { tpl } of jobs[stem] ? templatesOf(jobs[stem].job) : []) {
      const data = String(tpl.data ?? '');
      const key = /\bREDIS_PASSWORD=\{\{\s*\.([A-Za-z0-9_]+)\s*\}\}/.exec(data);
      const varPath = /nomadVar\s+"([^"]+)"/.exec(data);
      if (!key || !varPath) continue;
      if (!confData.includes(`nomadVar "${varPath[1]}"`) || !new RegExp(`\\.${key[1]}\\b`).test(confData)) {
        ctx.error(jobs[stem].rel, `REDIS_PASSWORD comes from ${varPath[1]} key ${key[1]}, which Redis's requirepass template in ${redis.rel} does not read: the app would authenticate with another password`);
      }
    }
  }
}

function checkBackendSimJob(ctx, { rel, job }) {
  for (const [groupName, group] of labeled(job.group)) {
    const ports = Object.fromEntries(blocks(group.network).flatMap((n) => labeled(n.port)));
    const http = ports.http;
    if (!http) {
      ctx.error(rel, `group "${groupName}": needs a network port named "http" (ADVERTISE_URL falls back to NOMAD_IP_http:NOMAD_PORT_http)`);
      continue;
    }
    if (http.static !== undefined) ctx.error(rel, `group "${groupName}": port "http" should be dynamic (no static) so several backends fit on one node`);
    if (http.to !== undefined) ctx.error(rel, `group "${groupName}": port "http" must not set \`to\`: NOMAD_PORT_http would then be the container port, and the advertised NOMAD_IP_http:NOMAD_PORT_http would be unreachable`);
    for (const [taskName, task] of labeled(group.task)) {
      const env = taskEnv(task);
      if (env.BACKEND_PORT !== '${NOMAD_PORT_http}') ctx.error(rel, `task "${taskName}": BACKEND_PORT should be "\${NOMAD_PORT_http}" so the app listens on the port Nomad allocated`);
      if (env.ADVERTISE_URL !== undefined) ctx.error(rel, `task "${taskName}": leave ADVERTISE_URL unset; the app derives it from NOMAD_IP_http/NOMAD_PORT_http`);
      if (env.BACKEND_ID !== undefined) ctx.warn(rel, `task "${taskName}": BACKEND_ID is set; every allocation would register under the same id unless it includes the allocation id`);
    }
  }
}

// ------------------------------------------------------------------------------------------ docker

function checkBuildTargets(ctx) {
  for (const app of APPS) {
    const rel = `apps/${app}/project.json`;
    const project = ctx.json(rel);
    if (!project) continue;
    const build = project.targets && project.targets.build;
    if (!build) {
      ctx.error(rel, 'no build target: `npx nx build ' + app + '` in the Dockerfile would fail');
      continue;
    }
    const outputs = (build.outputs ?? []).map((o) => o.replace('{workspaceRoot}/', '').replace(/\/$/, ''));
    if (!outputs.includes(`dist/apps/${app}`)) ctx.error(rel, `build target outputs ${JSON.stringify(build.outputs)} do not include {workspaceRoot}/dist/apps/${app}, which the Dockerfile copies`);
    const command = build.options && build.options.command;
    const webpack = typeof command === 'string' ? /webpack\b.*--config\s+(\S+).*--env\s+app=(\S+)/.exec(command) : null;
    if (webpack) {
      if (webpack[2] !== app) ctx.error(rel, `build command builds app=${webpack[2]}, not ${app}`);
      try {
        const configFile = ctx.abs(webpack[1]);
        const factory = ctx.requireFromRoot(configFile);
        const config = typeof factory === 'function' ? factory({ app }) : factory;
        const out = path.join(config.output.path, config.output.filename);
        if (out !== ctx.abs(`dist/apps/${app}/main.js`)) ctx.error(webpack[1], `builds ${app} into ${path.relative(ctx.root, out)}, not dist/apps/${app}/main.js`);
      } catch (err) {
        ctx.error(webpack[1], `cannot evaluate the webpack config for ${app}: ${err.message}`);
      }
    } else if (build.options && build.options.outputPath) {
      if (build.options.outputPath.replace(/\/$/, '') !== `dist/apps/${app}`) ctx.error(rel, `build outputPath ${build.options.outputPath} is not dist/apps/${app}`);
    } else {
      ctx.warn(rel, `cannot tell where the build target puts main.js; the Dockerfile expects dist/apps/${app}/main.js`);
    }
    if (!ctx.exists(`apps/${app}/src/main.ts`)) ctx.warn(`apps/${app}/src/main.ts`, 'does not exist (yet): the image for this app cannot build');
  }
}

function checkDockerfile(ctx) {
  const text = ctx.read(P.dockerfile);
  if (text === undefined) return undefined;
  const rel = P.dockerfile;
  const { globalArgs, stages } = parseDockerfile(text);
  const byName = new Map(stages.map((s) => [s.name, s]));
  const ignoreText = ctx.read(P.dockerignore);
  const isIgnored = ignoreText === undefined ? () => false : dockerignoreMatcher(ignoreText);

  if (!('APP' in globalArgs)) ctx.error(rel, 'expected a global `ARG APP` (before the first FROM) selecting gateway|registry|backend-sim');
  const nodeImage = globalArgs.NODE_IMAGE;
  for (const stage of stages) {
    const external = !byName.has(stage.from) && !/^app-\$\{?APP\}?$/.test(stage.from);
    if (!external) continue;
    const image = stage.from === '${NODE_IMAGE}' || stage.from === '$NODE_IMAGE' ? nodeImage : stage.from;
    if (!image || !/^node:(22|24)([.-]|$)/.test(image)) ctx.error(rel, `line ${stage.line}: base image ${image ?? stage.from} should be a current Node LTS (node:24-bookworm-slim or node:22)`);
  }

  const all = stages.flatMap((s) => s.instructions.map((i) => ({ ...i, stage: s })));
  const runs = all.filter((i) => i.keyword === 'RUN');
  const env = (stage) => stage.instructions.filter((i) => i.keyword === 'ENV').map((i) => i.args).join(' ');

  const build = runs.find((r) => /\bnx\s+build\s+"?\$\{?APP\}?"?/.test(r.args));
  if (!build) ctx.error(rel, 'no RUN with `nx build $APP`');
  else {
    const settings = `${env(build.stage)} ${build.args}`;
    for (const v of ['NX_NO_CLOUD=true', 'NX_DAEMON=false']) if (!settings.includes(v)) ctx.error(rel, `build stage "${build.stage.name}" should set ${v}`);
  }
  if (!runs.some((r) => /\bnpm ci\b/.test(r.args) && !/--omit=dev/.test(r.args))) ctx.error(rel, 'the build needs `npm ci` with dev dependencies (webpack, ts-loader, nx)');
  const prod = runs.find((r) => /\bnpm ci\b.*--omit=dev/.test(r.args));
  if (!prod) ctx.error(rel, 'no `npm ci --omit=dev` for the runtime node_modules');
  else if (/--ignore-scripts/.test(prod.args)) {
    const lock = ctx.json('package-lock.json');
    const scripted = lock ? Object.entries(lock.packages ?? {}).filter(([k, v]) => k && !v.dev && v.hasInstallScript).map(([k]) => k.replace(/^.*node_modules\//, '')) : [];
    if (scripted.length) ctx.error(rel, `runtime npm ci uses --ignore-scripts, but production dependencies need their install scripts: ${scripted.join(', ')}`);
  }

  // COPY from the build context: the path exists and Dockerfile.dockerignore lets it through.
  for (const ins of all.filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD')) {
    const copy = parseCopy(ins.args);
    if (copy.from) {
      const source = byName.get(copy.from);
      if (!source) {
        ctx.error(rel, `line ${ins.line}: COPY --from=${copy.from}: no such stage`);
        continue;
      }
      const workdir = source.instructions.filter((i) => i.keyword === 'WORKDIR').map((i) => i.args).pop();
      for (const src of copy.sources) {
        if (workdir && src.startsWith('/') && !src.startsWith(`${workdir}/`)) ctx.error(rel, `line ${ins.line}: COPY --from=${copy.from} ${src} is outside that stage's WORKDIR ${workdir}`);
        if (/dist\/apps\//.test(src) && !/dist\/apps\/\$\{?APP\}?$/.test(src)) ctx.error(rel, `line ${ins.line}: copies ${src}; expected dist/apps/\${APP}`);
      }
      continue;
    }
    for (const src of copy.sources) {
      if (!ctx.exists(src)) ctx.error(rel, `line ${ins.line}: COPY ${src}: no such path in the repository`);
      else if (isIgnored(src)) ctx.error(rel, `line ${ins.line}: COPY ${src}: excluded from the build context by ${P.dockerignore}`);
    }
  }
  if (!all.some((i) => i.keyword === 'COPY' && parseCopy(i.args).sources.includes('package-lock.json'))) ctx.error(rel, 'package-lock.json is never copied: npm ci needs it');
  for (const must of ['node_modules/x/index.js', '.git/HEAD', '.env', 'dist/apps/gateway/main.js', 'apps/gateway/node_modules/x']) {
    if (!isIgnored(must)) ctx.error(P.dockerignore, `does not exclude ${must.split('/').slice(0, must.startsWith('apps/') ? 3 : 1).join('/')}`);
  }

  // The final image, one stage per app.
  const finalStage = stages[stages.length - 1];
  if (!finalStage || !/^app-\$\{?APP\}?$/.test(finalStage.from)) ctx.error(rel, 'the last stage should be `FROM app-${APP}` so --build-arg APP picks the image');
  const healthTargets = loadHealthTargets(ctx);
  for (const app of APPS) {
    const stage = byName.get(`app-${app}`);
    if (!stage) {
      ctx.error(rel, `no stage app-${app}`);
      continue;
    }
    const chain = stageChain(stage, byName);
    const ins = (k) => chain.flatMap((s) => s.instructions.filter((i) => i.keyword === k));
    const last = (k) => ins(k).pop();
    const cmd = last('CMD') && execForm(last('CMD').args);
    if (!cmd || cmd[0] !== 'node' || !cmd.includes(`dist/apps/${app}/main.js`)) ctx.error(rel, `stage app-${app}: CMD should be exec form running node dist/apps/${app}/main.js`);
    const workdir = last('WORKDIR');
    const copied = ins('COPY').map((i) => parseCopy(i.args)).find((c) => c.from && c.sources.some((s) => /dist\/apps\//.test(s)));
    if (!copied || !workdir || path.posix.resolve(workdir.args, copied.dest) !== path.posix.resolve(workdir.args, 'dist/apps/${APP}')) {
      ctx.error(rel, `stage app-${app}: the bundle should be copied to dist/apps/\${APP} under WORKDIR so CMD finds it`);
    }
    const user = last('USER');
    if (!user || /^(root|0)(:|$)/.test(user.args)) ctx.error(rel, `stage app-${app}: should run as a non-root USER (node)`);
    const entry = last('ENTRYPOINT');
    const entryArgs = entry && execForm(entry.args);
    if (!entryArgs || !/(^|\/)(tini|dumb-init)$/.test(entryArgs[0])) ctx.error(rel, `stage app-${app}: ENTRYPOINT should be tini or dumb-init (exec form) so node gets SIGTERM and zombies are reaped`);
    if (!ins('ENV').some((i) => /\bNODE_ENV=production\b/.test(i.args))) ctx.error(rel, `stage app-${app}: NODE_ENV=production is not set`);
    const health = last('HEALTHCHECK');
    const healthCmd = health && execForm(health.args.replace(/^(--\S+\s+)*CMD\s+/, ''));
    if (!healthCmd || healthCmd[0] !== 'node') ctx.error(rel, `stage app-${app}: HEALTHCHECK should run node (slim images have no curl)`);
    else if (healthCmd.includes('ready')) ctx.error(rel, `stage app-${app}: HEALTHCHECK should probe liveness, not readiness: whatever acts on an image's health restarts it, and a Redis outage must restart nothing`);
    const exposed = new Set(ins('EXPOSE').flatMap((i) => i.args.split(/\s+/).map((p) => Number(p.replace(/\/tcp$/, '')))));
    for (const [name, port] of Object.entries(APP_PORTS[app])) if (!exposed.has(port)) ctx.error(rel, `stage app-${app}: EXPOSE misses ${port} (${name})`);
    if (healthTargets) {
      const t = healthTargets.healthTarget(app, {});
      if (t.port !== APP_PORTS[app][HEALTH_PORT_VAR[app]]) ctx.error(P.healthcheck, `${app}: probes port ${t.port}, but /health/* is on ${HEALTH_PORT_VAR[app]} (default ${APP_PORTS[app][HEALTH_PORT_VAR[app]]})`);
      if (t.path !== LIVE_PATH) ctx.error(P.healthcheck, `${app}: probes ${t.path} by default; the image HEALTHCHECK must be liveness (${LIVE_PATH})`);
      if (healthTargets.healthTarget(app, {}, 'ready').path !== READY_PATH) ctx.error(P.healthcheck, `${app}: \`ready\` should probe ${READY_PATH}`);
      const moved = healthTargets.healthTarget(app, { [HEALTH_PORT_VAR[app]]: '12345' });
      if (moved.port !== 12345) ctx.error(P.healthcheck, `${app}: does not follow ${HEALTH_PORT_VAR[app]} when it is set`);
    }
  }
  return { stages };
}

function stageChain(stage, byName) {
  const chain = [];
  for (let s = stage; s && !chain.includes(s); s = byName.get(s.from)) chain.unshift(s);
  return chain;
}

function loadHealthTargets(ctx) {
  if (!ctx.exists(P.healthcheck)) {
    ctx.error(P.healthcheck, 'missing');
    return undefined;
  }
  try {
    const mod = ctx.requireFromRoot(ctx.abs(P.healthcheck));
    if (typeof mod.healthTarget !== 'function') throw new Error('does not export healthTarget(app, env)');
    return mod;
  } catch (err) {
    ctx.error(P.healthcheck, err.message);
    return undefined;
  }
}

// ------------------------------------------------------------------------------------------ compose

/** `${NAME:?message}`: compose refuses to start while NAME is unset or empty. */
const requiredFromEnv = (name) => new RegExp(`^\\$\\{${name}:\\?[^}]+\\}$`);

function serviceApp(service) {
  const args = service.build && service.build.args;
  const app = args && (Array.isArray(args) ? (args.find((a) => a.startsWith('APP=')) || '').slice(4) : args.APP);
  if (app) return app;
  const image = String(service.image ?? '');
  return APPS.find((a) => new RegExp(`(^|/)${a}:`).test(image));
}

function envOf(service) {
  const env = service.environment ?? {};
  if (!Array.isArray(env)) return env;
  return Object.fromEntries(env.map((line) => [line.split('=')[0], line.split('=').slice(1).join('=')]));
}

function checkCompose(ctx) {
  const rel = P.compose;
  const compose = ctx.yaml(rel);
  if (!compose) return undefined;
  const composeDir = path.dirname(ctx.abs(rel));
  const services = compose.services ?? {};
  const names = new Set(Object.keys(services));
  const byApp = (app) => Object.entries(services).filter(([, s]) => serviceApp(s) === app);

  for (const required of ['redis', ...OBSERVABILITY_SERVICES]) if (!names.has(required)) ctx.error(rel, `no service "${required}"`);
  for (const app of ['registry', 'gateway']) if (byApp(app).length === 0) ctx.error(rel, `no ${app} service`);
  const backends = byApp('backend-sim');
  if (backends.length < 3) ctx.error(rel, `expected at least 3 backend-sim services, found ${backends.length}`);

  for (const [name, service] of Object.entries(services)) {
    const app = serviceApp(service);
    const profiles = service.profiles ?? [];
    if (OBSERVABILITY_SERVICES.includes(name) && !profiles.includes('observability')) ctx.error(rel, `service "${name}" should be in the "observability" profile`);
    if ((app || name === 'redis') && profiles.length > 0) ctx.error(rel, `service "${name}" is part of the load balancer; it should not need a profile`);
    for (const dep of Array.isArray(service.depends_on) ? service.depends_on : Object.keys(service.depends_on ?? {})) {
      if (!names.has(dep)) ctx.error(rel, `service "${name}" depends on "${dep}", which does not exist`);
    }
    for (const volume of service.volumes ?? []) {
      const source = typeof volume === 'string' ? volume.split(':')[0] : volume.source;
      if (typeof source === 'string' && source.startsWith('.') && !fs.existsSync(path.resolve(composeDir, source))) {
        ctx.error(rel, `service "${name}" mounts ${source}, which does not exist`);
      }
    }
    if (!app) continue;

    if (service.build) {
      const context = path.resolve(composeDir, service.build.context ?? '.');
      if (context !== ctx.root) ctx.error(rel, `service "${name}": build context should be the repository root (got ${service.build.context})`);
      const dockerfile = path.resolve(context, service.build.dockerfile ?? 'Dockerfile');
      if (dockerfile !== ctx.abs(P.dockerfile)) ctx.error(rel, `service "${name}": build should use ${P.dockerfile}`);
    }
    if (!APPS.includes(app)) ctx.error(rel, `service "${name}": APP=${app} is not one of ${APPS.join(', ')}`);
    if (!service.labels || (service.labels['io.lb.logs'] ?? (Array.isArray(service.labels) && service.labels.find((l) => l.startsWith('io.lb.logs=')))) === undefined) {
      ctx.error(rel, `service "${name}": without the label io.lb.logs=json Promtail does not ship its logs`);
    }
    const env = envOf(service);
    for (const key of ['REDIS_URL', 'REGISTRY_URL', 'ADVERTISE_URL']) {
      const url = urlOf(env[key]);
      if (env[key] !== undefined && !url) ctx.error(rel, `service "${name}": ${key}=${env[key]} is not a URL`);
      if (url && !names.has(url.hostname)) ctx.error(rel, `service "${name}": ${key} points at "${url.hostname}", which is not a service of this file`);
      if (url && (url.username || url.password)) ctx.error(rel, `service "${name}": ${key} carries credentials (user:password@); give the apps REDIS_PASSWORD instead`);
    }
    if (!requiredFromEnv('REDIS_PASSWORD').test(String(env.REDIS_PASSWORD ?? ''))) ctx.error(rel, `service "${name}": REDIS_PASSWORD should be \${REDIS_PASSWORD:?...} (required, from the environment or infra/docker/.env): Redis requires it`);
    const probe = [].concat(service.healthcheck ? service.healthcheck.test : []).map(String);
    if (!(probe[1] === 'node' && probe.some((a) => a.endsWith('/healthcheck.cjs')) && probe.includes('ready'))) {
      ctx.error(rel, `service "${name}": healthcheck should be readiness (["CMD", "node", "/app/healthcheck.cjs", "ready"]): compose only waits on health and shows it, it never restarts on it`);
    }
    const registryUrl = urlOf(env.REGISTRY_URL);
    if (registryUrl && names.has(registryUrl.hostname)) {
      const target = services[registryUrl.hostname];
      if (serviceApp(target) !== 'registry') ctx.error(rel, `service "${name}": REGISTRY_URL points at "${registryUrl.hostname}", which is not the registry`);
      else if (Number(registryUrl.port || 80) !== Number(envOf(target).REGISTRY_PORT ?? APP_PORTS.registry.REGISTRY_PORT)) ctx.error(rel, `service "${name}": REGISTRY_URL port ${registryUrl.port} is not the registry's REGISTRY_PORT`);
    }
    if (app === 'registry' || app === 'backend-sim') {
      if (!requiredFromEnv('REGISTRY_TOKEN').test(String(env.REGISTRY_TOKEN ?? ''))) ctx.error(rel, `service "${name}": REGISTRY_TOKEN should be \${REGISTRY_TOKEN:?set REGISTRY_TOKEN} (required, from the environment)`);
    }
    const listening = new Set(Object.entries(APP_PORTS[app] ?? {}).map(([k, def]) => Number(env[k] ?? def)));
    for (const mapping of service.ports ?? []) {
      const containerSide = typeof mapping === 'string' ? Number(mapping.split(':').pop().split('/')[0]) : Number(mapping.target);
      if (!listening.has(containerSide)) ctx.error(rel, `service "${name}": publishes container port ${containerSide}, where ${app} does not listen (${[...listening].join(', ')})`);
    }
    if (app === 'backend-sim') {
      const url = urlOf(env.ADVERTISE_URL);
      if (!url) ctx.error(rel, `service "${name}": ADVERTISE_URL should be set to http://${name}:<BACKEND_PORT>`);
      else {
        if (url.hostname !== name) ctx.error(rel, `service "${name}": ADVERTISE_URL names "${url.hostname}", not this service: gateways would send its share to another backend`);
        const port = Number(env.BACKEND_PORT ?? APP_PORTS['backend-sim'].BACKEND_PORT);
        if (Number(url.port || 80) !== port) ctx.error(rel, `service "${name}": ADVERTISE_URL port ${url.port} is not its BACKEND_PORT ${port}`);
      }
    }
  }
  if (services.redis) checkComposeRedis(ctx, rel, compose, services.redis);
  const example = ctx.read(P.composeEnvExample);
  if (example !== undefined && !/^REDIS_PASSWORD=$/m.test(example)) ctx.error(P.composeEnvExample, 'should list REDIS_PASSWORD= with no value: the real one goes in the git-ignored infra/docker/.env');
  const backendIds = backends.map(([, s]) => envOf(s).BACKEND_ID).filter(Boolean);
  if (new Set(backendIds).size !== backendIds.length) ctx.error(rel, 'two backend services share a BACKEND_ID');
  return { compose, services, composeDir };
}

/** Redis requires a password that is on no command line; its healthcheck authenticates and wants PONG. */
function checkComposeRedis(ctx, rel, compose, redis) {
  const env = envOf(redis);
  const command = [].concat(redis.entrypoint ?? [], redis.command ?? []).join(' ');
  if (!/requirepass/.test(command + JSON.stringify(compose.configs ?? {}))) ctx.error(rel, 'service "redis": Redis runs without a password: give redis-server `requirepass` in its configuration');
  if (/--requirepass/.test(command)) ctx.error(rel, 'service "redis": --requirepass puts the password on the command line, which ps shows; pass it as configuration (a config file, or `-` and the config on stdin)');
  if (!requiredFromEnv('REDIS_PASSWORD').test(String(env.REDISCLI_AUTH ?? ''))) ctx.error(rel, 'service "redis": REDISCLI_AUTH should be ${REDIS_PASSWORD:?...} so that redis-cli (the healthcheck) authenticates');
  const test = [].concat(redis.healthcheck ? redis.healthcheck.test : []).join(' ');
  if (/redis-cli.*\s(-a|--pass|--user)\s/.test(test)) ctx.error(rel, 'service "redis": the healthcheck gives redis-cli the password as an argument, which ps shows; REDISCLI_AUTH is enough');
  if (!/redis-cli/.test(test) || !/PONG/.test(test)) ctx.error(rel, 'service "redis": the healthcheck should be `redis-cli ping | grep -q PONG`: redis-cli exits 0 even when Redis answers NOAUTH or WRONGPASS');
}

// ------------------------------------------------------------------------------------------ observability

/** Where a compose service mounts a repository path, as { target } (or undefined). */
function mountOf(ctx, composeInfo, serviceName, repoRel) {
  const service = composeInfo && composeInfo.services[serviceName];
  if (!service) return undefined;
  for (const volume of service.volumes ?? []) {
    const [source, target] = typeof volume === 'string' ? volume.split(':') : [volume.source, volume.target];
    if (typeof source === 'string' && source.startsWith('.') && path.resolve(composeInfo.composeDir, source) === ctx.abs(repoRel)) return target;
  }
  return undefined;
}

function knownMetrics(ctx) {
  const names = new Set();
  for (const dir of ['libs', 'apps']) {
    for (const file of walk(ctx.abs(dir))) {
      if (!file.endsWith('.ts') || /\.(spec|int-spec|e2e-spec)\.ts$/.test(file)) continue;
      const text = fs.readFileSync(file, 'utf8');
      for (const m of text.matchAll(/name:\s*['"`](lb_[a-z0-9_]+)['"`]/g)) names.add(m[1]);
    }
  }
  return names;
}

function checkObservability(ctx, composeInfo) {
  const services = composeInfo ? composeInfo.services : {};
  const hostPort = (value) => {
    const u = urlOf(value);
    return u ? { host: u.hostname, port: Number(u.port || (u.protocol === 'https:' ? 443 : 80)) } : undefined;
  };

  const loki = ctx.yaml(P.loki);
  const lokiPort = loki && loki.server ? loki.server.http_listen_port : undefined;
  if (loki && !asPort(lokiPort)) ctx.error(P.loki, 'server.http_listen_port is not set');
  if (loki && !(loki.schema_config && (loki.schema_config.configs ?? []).some((c) => c.schema === 'v13'))) ctx.error(P.loki, 'use schema v13 (required for structured metadata in Loki 3)');
  if (composeInfo && loki) {
    const target = mountOf(ctx, composeInfo, 'loki', P.loki);
    const command = (services.loki && services.loki.command) || [];
    if (!target) ctx.error(P.compose, `service "loki" does not mount ${P.loki}`);
    else if (![].concat(command).some((c) => String(c).includes(target))) ctx.error(P.compose, `service "loki" mounts its config at ${target} but does not start with -config.file=${target}`);
  }

  // Promtail: JSON stage, labels, and a client that reaches Loki.
  const promtail = ctx.yaml(P.promtail);
  const promtailLabels = new Set();
  if (promtail) {
    for (const client of promtail.clients ?? []) {
      const hp = hostPort(client.url);
      if (!hp) ctx.error(P.promtail, `client url ${client.url} is not a URL`);
      else if (composeInfo && !services[hp.host]) ctx.error(P.promtail, `client url host "${hp.host}" is not a compose service`);
      else if (hp.host === 'loki' && lokiPort && hp.port !== lokiPort) ctx.error(P.promtail, `client url port ${hp.port} is not Loki's http_listen_port ${lokiPort}`);
    }
    if (!(promtail.clients ?? []).length) ctx.error(P.promtail, 'no clients (Loki push URL)');
    const jobs = promtail.scrape_configs ?? [];
    if (!jobs.length) ctx.error(P.promtail, 'no scrape_configs');
    for (const job of jobs) {
      for (const r of job.relabel_configs ?? []) if (r.target_label) promtailLabels.add(r.target_label);
      for (const sd of job.docker_sd_configs ?? []) {
        for (const f of sd.filters ?? []) {
          if (f.name !== 'label') continue;
          for (const value of f.values ?? []) {
            const [key, want] = value.split('=');
            for (const [name, s] of Object.entries(services)) {
              if (!serviceApp(s)) continue;
              const have = s.labels && !Array.isArray(s.labels) ? s.labels[key] : undefined;
              if (want !== undefined && have !== undefined && String(have) !== want) ctx.error(P.compose, `service "${name}": label ${key}=${have}, Promtail selects ${key}=${want}`);
            }
          }
        }
      }
      const stages = job.pipeline_stages ?? [];
      const json = stages.find((s) => s.json);
      const expressions = (json && json.json.expressions) || {};
      const extracted = new Map(Object.entries(expressions).map(([k, v]) => [String(v ?? k), k]));
      for (const field of ['level', 'service', 'req.id']) {
        if (!extracted.has(field)) ctx.error(P.promtail, `job "${job.job_name}": the json stage does not extract "${field}"`);
      }
      const labelStage = Object.assign({}, ...stages.filter((s) => s.labels).map((s) => s.labels));
      for (const [label, source] of Object.entries(labelStage)) {
        promtailLabels.add(label);
        const from = source ?? label;
        const produced = Object.keys(expressions).includes(from) || stages.some((s) => s.template && s.template.source === from) || stages.some((s) => s.regex);
        if (!produced) ctx.error(P.promtail, `job "${job.job_name}": label "${label}" comes from "${from}", which no stage extracts`);
      }
      for (const needed of ['level', 'service']) if (!(needed in labelStage)) ctx.error(P.promtail, `job "${job.job_name}": "${needed}" is not a label`);
      for (const s of stages) if (s.static_labels) Object.keys(s.static_labels).forEach((k) => promtailLabels.add(k));
      if (stages.some((s) => s.docker !== undefined) && (job.docker_sd_configs ?? []).length) ctx.error(P.promtail, `job "${job.job_name}": docker_sd_configs delivers plain lines; a docker stage would fail to parse them`);
    }
    if (composeInfo && !mountOf(ctx, composeInfo, 'promtail', P.promtail)) ctx.error(P.compose, `service "promtail" does not mount ${P.promtail}`);
  }

  // Prometheus scrapes the gateway's admin port.
  const prometheus = ctx.yaml(P.prometheus);
  if (prometheus) {
    const gatewayServices = Object.entries(services).filter(([, s]) => serviceApp(s) === 'gateway');
    const adminPorts = new Set(gatewayServices.map(([, s]) => Number(envOf(s).GATEWAY_ADMIN_PORT ?? APP_PORTS.gateway.GATEWAY_ADMIN_PORT)));
    const targets = [];
    for (const job of prometheus.scrape_configs ?? []) {
      for (const sd of job.dns_sd_configs ?? []) for (const n of sd.names ?? []) targets.push({ job, host: n, port: Number(sd.port) });
      for (const sc of job.static_configs ?? []) for (const t of sc.targets ?? []) targets.push({ job, host: t.split(':')[0], port: Number(t.split(':')[1]) });
    }
    const gatewayTargets = targets.filter((t) => gatewayServices.some(([name]) => name === t.host));
    if (gatewayTargets.length === 0) ctx.error(P.prometheus, 'no scrape job targets the gateway service');
    for (const t of gatewayTargets) {
      if (!adminPorts.has(t.port)) ctx.error(P.prometheus, `job "${t.job.job_name}" scrapes ${t.host}:${t.port}; the gateway's /metrics is on its admin port ${[...adminPorts].join(', ')}`);
      if ((t.job.metrics_path ?? '/metrics') !== '/metrics') ctx.error(P.prometheus, `job "${t.job.job_name}": metrics_path should be /metrics`);
    }
    if (composeInfo && !mountOf(ctx, composeInfo, 'prometheus', P.prometheus)) ctx.error(P.compose, `service "prometheus" does not mount ${P.prometheus}`);
  }

  // Grafana: datasources reach their compose services; dashboards use provisioned uids only.
  const datasourceUids = new Map();
  for (const file of fs.existsSync(ctx.abs(P.datasources)) ? fs.readdirSync(ctx.abs(P.datasources)).filter((f) => /\.ya?ml$/.test(f)) : []) {
    const rel = `${P.datasources}/${file}`;
    const doc = ctx.yaml(rel);
    for (const ds of (doc && doc.datasources) || []) {
      if (!ds.uid) ctx.error(rel, `datasource "${ds.name}" has no uid; dashboards refer to datasources by uid`);
      else datasourceUids.set(ds.uid, ds.type);
      const hp = hostPort(ds.url);
      if (!hp) ctx.error(rel, `datasource "${ds.name}": url ${ds.url} is not a URL`);
      else if (composeInfo && !services[hp.host]) ctx.error(rel, `datasource "${ds.name}": host "${hp.host}" is not a compose service`);
      else if (hp.host === 'loki' && lokiPort && hp.port !== lokiPort) ctx.error(rel, `datasource "${ds.name}": port ${hp.port} is not Loki's ${lokiPort}`);
    }
  }
  if (datasourceUids.size === 0) ctx.error(P.datasources, 'no provisioned datasource');

  const providerPaths = [];
  for (const file of fs.existsSync(ctx.abs(P.dashboardProviders)) ? fs.readdirSync(ctx.abs(P.dashboardProviders)).filter((f) => /\.ya?ml$/.test(f)) : []) {
    const doc = ctx.yaml(`${P.dashboardProviders}/${file}`);
    for (const p of (doc && doc.providers) || []) if (p.options && p.options.path) providerPaths.push(p.options.path);
  }
  if (providerPaths.length === 0) ctx.error(P.dashboardProviders, 'no dashboard provider with options.path');
  if (composeInfo) {
    const dashboardsTarget = mountOf(ctx, composeInfo, 'grafana', P.dashboards);
    if (!dashboardsTarget) ctx.error(P.compose, `service "grafana" does not mount ${P.dashboards}`);
    else if (!providerPaths.includes(dashboardsTarget)) ctx.error(P.dashboardProviders, `providers read ${providerPaths.join(', ')}, but compose mounts the dashboards at ${dashboardsTarget}`);
    if (mountOf(ctx, composeInfo, 'grafana', 'infra/observability/grafana/provisioning') !== '/etc/grafana/provisioning') ctx.error(P.compose, 'service "grafana" should mount infra/observability/grafana/provisioning at /etc/grafana/provisioning');
  }

  const metrics = knownMetrics(ctx);
  const dashboardFiles = fs.existsSync(ctx.abs(P.dashboards)) ? fs.readdirSync(ctx.abs(P.dashboards)).filter((f) => f.endsWith('.json')) : [];
  if (dashboardFiles.length === 0) ctx.error(P.dashboards, 'no dashboard JSON');
  const uids = new Set();
  for (const file of dashboardFiles) {
    const rel = `${P.dashboards}/${file}`;
    const dash = ctx.json(rel);
    if (!dash) continue;
    if (!dash.uid || !dash.title) ctx.error(rel, 'a dashboard needs a uid and a title');
    if (uids.has(dash.uid)) ctx.error(rel, `duplicate dashboard uid ${dash.uid}`);
    uids.add(dash.uid);
    const variables = new Set(((dash.templating && dash.templating.list) || []).map((v) => v.name));
    const panels = (dash.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== 'row');
    if (panels.length === 0) ctx.error(rel, 'no panels');
    const refs = [...panels.flatMap((p) => [p.datasource, ...(p.targets ?? []).map((t) => t.datasource)]), ...((dash.templating && dash.templating.list) || []).map((v) => v.datasource)];
    for (const ref of refs.filter(Boolean)) {
      const uid = typeof ref === 'string' ? ref : ref.uid;
      if (uid && !uid.startsWith('$') && !uid.startsWith('-- ') && !datasourceUids.has(uid)) ctx.error(rel, `refers to datasource uid "${uid}", which is not provisioned`);
    }
    let lokiPanels = 0;
    let promPanels = 0;
    for (const panel of panels) {
      const targets = (panel.targets ?? []).filter((t) => typeof t.expr === 'string' && t.expr.trim());
      if (targets.length === 0) ctx.error(rel, `panel "${panel.title}" has no query`);
      for (const t of targets) {
        const type = (t.datasource && t.datasource.type) || (panel.datasource && panel.datasource.type);
        for (const v of t.expr.matchAll(/\$(?:\{)?([A-Za-z_][A-Za-z0-9_]*)/g)) {
          if (!v[1].startsWith('__') && !variables.has(v[1])) ctx.error(rel, `panel "${panel.title}": uses $${v[1]}, which is not a dashboard variable`);
        }
        if (type === 'loki') {
          lokiPanels++;
          for (const selector of t.expr.matchAll(/\{([^{}]*)\}/g)) {
            for (const m of selector[1].matchAll(/([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)/g)) {
              if (promtailLabels.size && !promtailLabels.has(m[1])) ctx.error(rel, `panel "${panel.title}": Loki label "${m[1]}" is not set by Promtail (${[...promtailLabels].join(', ')})`);
            }
          }
        } else if (type === 'prometheus') {
          promPanels++;
          for (const m of t.expr.matchAll(/\b(lb_[a-z0-9_]+)/g)) {
            const base = m[1].replace(/_(bucket|sum|count)$/, '');
            if (!metrics.has(m[1]) && !metrics.has(base)) ctx.warn(rel, `panel "${panel.title}": metric ${m[1]} is not exported by any code in libs/ or apps/ yet`);
          }
        }
      }
    }
    if (!promPanels) ctx.error(rel, 'no Prometheus panel');
    if (!lokiPanels) ctx.error(rel, 'no Loki panel');
  }
}

// ------------------------------------------------------------------------------------------ entry

/**
 * Runs every check against the repository at `root`.
 * @returns {Promise<{ findings: Array<{severity: 'error'|'warning', file: string, message: string}>, errors: number, warnings: number }>}
 */
async function checkInfra({ root }) {
  const ctx = new Context(root);
  await checkNomad(ctx);
  checkBuildTargets(ctx);
  checkDockerfile(ctx);
  const composeInfo = checkCompose(ctx);
  checkObservability(ctx, composeInfo);
  checkSecrets(ctx);
  const unique = [];
  const seen = new Set();
  for (const f of ctx.findings) {
    const key = `${f.severity}|${f.file}|${f.message}`;
    if (!seen.has(key)) unique.push(f);
    seen.add(key);
  }
  return {
    findings: unique,
    errors: unique.filter((f) => f.severity === 'error').length,
    warnings: unique.filter((f) => f.severity === 'warning').length,
  };
}

module.exports = { checkInfra, dockerignoreMatcher, parseDockerfile, APPS, APP_PORTS };
