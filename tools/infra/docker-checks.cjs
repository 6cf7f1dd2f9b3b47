'use strict';
/**
 * The image (infra/docker/Dockerfile, parsed by dockerfile-ast; its build context filtered by
 * Dockerfile.dockerignore, matched by @balena/dockerignore, a port of Docker's own matcher) and
 * docker-compose.yml, checked against the apps and each other. Compose's own validation
 * (`docker-compose config`) runs in the jest spec when Debian's docker-compose is installed.
 */
const path = require('node:path');
const { DockerfileParser } = require('dockerfile-ast');
const dockerignore = require('@balena/dockerignore');
const { urlOf } = require('./context.cjs');

const P = {
  dockerfile: 'infra/docker/Dockerfile',
  dockerignore: 'infra/docker/Dockerfile.dockerignore',
  healthcheck: 'infra/docker/healthcheck.cjs',
  compose: 'infra/docker/docker-compose.yml',
  composeEnvExample: 'infra/docker/redis.env.example',
};
const OBSERVABILITY_SERVICES = ['loki', 'alloy', 'prometheus', 'grafana'];
const LIVE_PATH = '/health/live';
const READY_PATH = '/health/ready';

/** A .dockerignore as BuildKit applies it: (path) => true when the build context leaves it out. */
function dockerignoreMatcher(text) {
  const ig = dockerignore().add(text);
  return (file) => ig.ignores(path.posix.normalize(file).replace(/^\.?\/+/, ''));
}

/** ["a", "b"] exec form -> array; shell form -> undefined. */
function execForm(text) {
  if (!text.startsWith('[')) return undefined;
  try {
    const v = JSON.parse(text);
    return Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Stages by name, each with its instructions: { name, from, line, instructions: [{ keyword, args, text, node }] }. */
function dockerStages(text) {
  const dockerfile = DockerfileParser.parse(text);
  const initialArgs = Object.fromEntries(dockerfile.getInitialARGs().map((a) => a.getProperty()).filter(Boolean).map((p) => [p.getName(), p.getValue()]));
  const stages = [];
  for (const node of dockerfile.getInstructions()) {
    const keyword = node.getKeyword();
    const line = node.getRange().start.line + 1;
    if (keyword === 'FROM') {
      stages.push({ name: node.getBuildStage() ?? String(stages.length), from: node.getImage(), line, instructions: [] });
    } else if (stages.length > 0) {
      stages[stages.length - 1].instructions.push({ keyword, line, node, args: node.getArguments().map((a) => a.getValue()), text: node.getArgumentsContent() ?? '' });
    }
  }
  return { initialArgs, stages };
}

/** COPY/ADD: { from, sources, dest }. */
function copyOf(ins) {
  const from = ins.node.getFlags().find((f) => f.getName() === 'from');
  const parts = execForm(ins.text.replace(/^(--\S+\s+)*/, '')) ?? ins.args.filter((a) => !a.startsWith('--'));
  return { from: from ? from.getValue() : undefined, sources: parts.slice(0, -1), dest: parts[parts.length - 1] };
}

function stageChain(stage, byName) {
  const chain = [];
  for (let s = stage; s && !chain.includes(s); s = byName.get(s.from)) chain.unshift(s);
  return chain;
}

function checkBuildTargets(ctx) {
  for (const app of Object.keys(ctx.apps)) {
    const rel = `apps/${app}/project.json`;
    const project = ctx.json(rel);
    if (!project) continue;
    const build = project.targets && project.targets.build;
    if (!build) {
      ctx.error(rel, `no build target: \`npx nx build ${app}\` in the Dockerfile would fail`);
      continue;
    }
    const outputs = (build.outputs ?? []).map((o) => o.replace('{workspaceRoot}/', '').replace(/\/$/, ''));
    if (!outputs.includes(`dist/apps/${app}`)) ctx.error(rel, `build target outputs ${JSON.stringify(build.outputs)} do not include {workspaceRoot}/dist/apps/${app}, which the Dockerfile copies`);
    const command = build.options && build.options.command;
    const webpack = typeof command === 'string' ? /webpack\b.*--config\s+(\S+).*--env\s+app=(\S+)/.exec(command) : null;
    if (!webpack) {
      ctx.warn(rel, `cannot tell where the build target puts main.js; the Dockerfile expects dist/apps/${app}/main.js`);
      continue;
    }
    if (webpack[2] !== app) ctx.error(rel, `build command builds app=${webpack[2]}, not ${app}`);
    try {
      const factory = ctx.requireFromRoot(ctx.abs(webpack[1]));
      const config = typeof factory === 'function' ? factory({ app }) : factory;
      const out = path.join(config.output.path, config.output.filename);
      if (out !== ctx.abs(`dist/apps/${app}/main.js`)) ctx.error(webpack[1], `builds ${app} into ${path.relative(ctx.root, out)}, not dist/apps/${app}/main.js`);
    } catch (err) {
      ctx.error(webpack[1], `cannot evaluate the webpack config for ${app}: ${err.message}`);
    }
  }
}

function checkDockerfile(ctx) {
  const text = ctx.read(P.dockerfile);
  if (text === undefined) return;
  const rel = P.dockerfile;
  const { initialArgs, stages } = dockerStages(text);
  const byName = new Map(stages.map((s) => [s.name, s]));
  const ignoreText = ctx.read(P.dockerignore);
  const isIgnored = ignoreText === undefined ? () => false : dockerignoreMatcher(ignoreText);

  if (!('APP' in initialArgs)) ctx.error(rel, 'expected a global `ARG APP` (before the first FROM) selecting the app');
  for (const stage of stages) {
    if (byName.has(stage.from) && stage.from !== stage.name) continue;
    if (/^app-\$\{?APP\}?$/.test(stage.from)) continue;
    const image = /^\$\{?NODE_IMAGE\}?$/.test(stage.from) ? initialArgs.NODE_IMAGE : stage.from;
    // Issue 12.9: a release, not a floating major tag, so a rebuild of one commit gets the same Node.
    if (!image || !/^node:(22|24)\.\d+\.\d+-[a-z]+(-slim)?(@sha256:[0-9a-f]{64})?$/.test(image)) ctx.error(rel, `line ${stage.line}: base image ${image ?? stage.from} should be a pinned release of a current Node LTS, e.g. node:24.21.0-bookworm-slim`);
  }

  const all = stages.flatMap((s) => s.instructions.map((i) => ({ ...i, stage: s })));
  const runs = all.filter((i) => i.keyword === 'RUN');
  const envText = (stage) => stage.instructions.filter((i) => i.keyword === 'ENV').map((i) => i.text).join(' ');
  const build = runs.find((r) => /\bnx\s+build\s+"?\$\{?APP\}?"?/.test(r.text));
  if (!build) ctx.error(rel, 'no RUN with `nx build $APP`');
  else for (const v of ['NX_NO_CLOUD=true', 'NX_DAEMON=false']) if (!`${envText(build.stage)} ${build.text}`.includes(v)) ctx.error(rel, `build stage "${build.stage.name}" should set ${v}`);
  if (!runs.some((r) => /\bnpm ci\b/.test(r.text) && !/--omit=dev/.test(r.text))) ctx.error(rel, 'the build needs `npm ci` with dev dependencies (webpack, ts-loader, nx)');
  const prod = runs.find((r) => /\bnpm ci\b.*--omit=dev/.test(r.text));
  if (!prod) ctx.error(rel, 'no `npm ci --omit=dev` for the runtime node_modules');
  else if (/--ignore-scripts/.test(prod.text)) {
    const lock = ctx.json('package-lock.json');
    const scripted = lock ? Object.entries(lock.packages ?? {}).filter(([k, v]) => k && !v.dev && v.hasInstallScript).map(([k]) => k.replace(/^.*node_modules\//, '')) : [];
    if (scripted.length) ctx.error(rel, `runtime npm ci uses --ignore-scripts, but production dependencies need their install scripts: ${scripted.join(', ')}`);
  }

  // COPY from the build context: the path exists and Dockerfile.dockerignore lets it through.
  for (const ins of all.filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD')) {
    const copy = copyOf(ins);
    if (copy.from) {
      if (!byName.has(copy.from)) ctx.error(rel, `line ${ins.line}: COPY --from=${copy.from}: no such stage`);
      continue;
    }
    for (const src of copy.sources) {
      if (!ctx.exists(src)) ctx.error(rel, `line ${ins.line}: COPY ${src}: no such path in the repository`);
      else if (isIgnored(src)) ctx.error(rel, `line ${ins.line}: COPY ${src}: excluded from the build context by ${P.dockerignore}`);
    }
  }
  if (!all.some((i) => i.keyword === 'COPY' && copyOf(i).sources.includes('package-lock.json'))) ctx.error(rel, 'package-lock.json is never copied: npm ci needs it');
  for (const must of ['node_modules/x/index.js', '.git/HEAD', '.env', 'dist/apps/gateway/main.js', 'apps/gateway/node_modules/x']) {
    if (!isIgnored(must)) ctx.error(P.dockerignore, `does not exclude ${must.split('/').slice(0, must.startsWith('apps/') ? 3 : 1).join('/')}`);
  }

  const finalStage = stages[stages.length - 1];
  if (!finalStage || !/^app-\$\{?APP\}?$/.test(finalStage.from)) ctx.error(rel, 'the last stage should be `FROM app-${APP}` so --build-arg APP picks the image');
  const health = loadHealthTargets(ctx);
  for (const app of Object.keys(ctx.apps)) {
    const stage = byName.get(`app-${app}`);
    if (!stage) {
      ctx.error(rel, `no stage app-${app}`);
      continue;
    }
    checkAppStage(ctx, app, stageChain(stage, byName));
    if (health) checkHealthTarget(ctx, app, health);
  }
}

/** The final image of one app: command, user, init, labels, health, ports. */
function checkAppStage(ctx, app, chain) {
  const rel = P.dockerfile;
  const ins = (k) => chain.flatMap((s) => s.instructions.filter((i) => i.keyword === k));
  const last = (k) => ins(k).pop();
  const where = `stage app-${app}`;
  const cmd = last('CMD') && execForm(last('CMD').text);
  if (!cmd || cmd[0] !== 'node' || !cmd.includes(`dist/apps/${app}/main.js`)) ctx.error(rel, `${where}: CMD should be exec form running node dist/apps/${app}/main.js`);
  const workdir = last('WORKDIR');
  const bundle = ins('COPY').map(copyOf).find((c) => c.from && c.sources.some((s) => /dist\/apps\//.test(s)));
  if (!bundle || !workdir || path.posix.resolve(workdir.text, bundle.dest) !== path.posix.resolve(workdir.text, 'dist/apps/${APP}')) {
    ctx.error(rel, `${where}: the bundle should be copied to dist/apps/\${APP} under WORKDIR so CMD finds it`);
  }
  const user = last('USER');
  if (!user || /^(root|0)(:|$)/.test(user.text)) ctx.error(rel, `${where}: should run as a non-root USER (node)`);
  const entry = last('ENTRYPOINT') && execForm(last('ENTRYPOINT').text);
  if (!entry || !/(^|\/)(tini|dumb-init)$/.test(entry[0])) ctx.error(rel, `${where}: ENTRYPOINT should be tini or dumb-init (exec form) so node gets SIGTERM and zombies are reaped`);
  if (!ins('ENV').some((i) => /\bNODE_ENV=production\b/.test(i.text))) ctx.error(rel, `${where}: NODE_ENV=production is not set`);
  const labels = Object.fromEntries(ins('LABEL').flatMap((i) => i.node.getProperties().map((p) => [p.getName(), p.getValue()])));
  for (const name of ['source', 'revision']) {
    if (!/^\$\{?[A-Z_]+\}?$/.test(labels[`org.opencontainers.image.${name}`] ?? '')) ctx.error(rel, `${where}: LABEL org.opencontainers.image.${name} should be set from a build arg (docker build --build-arg ...)`);
  }
  const healthcheck = last('HEALTHCHECK');
  const probe = healthcheck && execForm(healthcheck.text.replace(/^(--\S+\s+)*CMD\s+/, ''));
  if (!probe || probe[0] !== 'node') ctx.error(rel, `${where}: HEALTHCHECK should run node (slim images have no curl)`);
  else if (probe.includes('ready')) ctx.error(rel, `${where}: HEALTHCHECK should probe liveness, not readiness: whatever acts on an image's health restarts it, and a Redis outage must restart nothing`);
  const exposed = new Set(ins('EXPOSE').flatMap((i) => i.args.map((p) => Number(p.replace(/\/tcp$/, '')))));
  for (const [name, port] of Object.entries(ctx.apps[app].ports)) if (!exposed.has(port)) ctx.error(rel, `${where}: EXPOSE misses ${port} (${name})`);
}

/** healthcheck.cjs probes the port and variable the app serves /health/* on. */
function checkHealthTarget(ctx, app, health) {
  const portVar = ctx.healthPortVar[app];
  const port = ctx.apps[app].ports[portVar];
  const t = health.healthTarget(app, {});
  if (t.port !== port) ctx.error(P.healthcheck, `${app}: probes port ${t.port}, but /health/* is on ${portVar} (default ${port})`);
  if (t.path !== LIVE_PATH) ctx.error(P.healthcheck, `${app}: probes ${t.path} by default; the image HEALTHCHECK must be liveness (${LIVE_PATH})`);
  if (health.healthTarget(app, {}, 'ready').path !== READY_PATH) ctx.error(P.healthcheck, `${app}: \`ready\` should probe ${READY_PATH}`);
  if (health.healthTarget(app, { [portVar]: '12345' }).port !== 12345) ctx.error(P.healthcheck, `${app}: does not follow ${portVar} when it is set`);
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

function serviceApp(ctx, service) {
  const args = service.build && service.build.args;
  const app = args && (Array.isArray(args) ? (args.find((a) => a.startsWith('APP=')) || '').slice(4) : args.APP);
  if (app) return app;
  return Object.keys(ctx.apps).find((a) => new RegExp(`(^|/)${a}:`).test(String(service.image ?? '')));
}

function envOf(service) {
  const env = service.environment ?? {};
  if (!Array.isArray(env)) return env;
  return Object.fromEntries(env.map((line) => [line.split('=')[0], line.split('=').slice(1).join('=')]));
}

/** Where a compose service mounts a repository path (its target), or undefined. */
function mountOf(ctx, composeInfo, serviceName, repoRel) {
  const service = composeInfo && composeInfo.services[serviceName];
  for (const volume of (service && service.volumes) ?? []) {
    const [source, target] = typeof volume === 'string' ? volume.split(':') : [volume.source, volume.target];
    if (typeof source === 'string' && source.startsWith('.') && path.resolve(composeInfo.composeDir, source) === ctx.abs(repoRel)) return target;
  }
  return undefined;
}

function checkCompose(ctx) {
  const rel = P.compose;
  const compose = ctx.yaml(rel);
  if (!compose) return undefined;
  const composeDir = path.dirname(ctx.abs(rel));
  const services = compose.services ?? {};
  const names = new Set(Object.keys(services));
  const byApp = (app) => Object.entries(services).filter(([, s]) => serviceApp(ctx, s) === app);

  // Issue 12.9: Compose v1 (docker-compose 1.29) refuses a top-level `name:` and knows no `version`-less extras.
  for (const key of Object.keys(compose)) {
    if (!['services', 'volumes', 'networks', 'configs', 'secrets'].includes(key) && !key.startsWith('x-')) ctx.error(rel, `top-level "${key}": Compose v1 refuses it (set COMPOSE_PROJECT_NAME in infra/docker/.env for the project name)`);
  }
  for (const required of ['redis', ...OBSERVABILITY_SERVICES]) if (!names.has(required)) ctx.error(rel, `no service "${required}"`);
  for (const app of ['registry', 'gateway']) if (byApp(app).length === 0) ctx.error(rel, `no ${app} service`);
  const backends = byApp('backend-sim');
  if (backends.length < 3) ctx.error(rel, `expected at least 3 backend-sim services, found ${backends.length}`);

  for (const [name, service] of Object.entries(services)) {
    const app = serviceApp(ctx, service);
    const profiles = service.profiles ?? [];
    if (OBSERVABILITY_SERVICES.includes(name) && !profiles.includes('observability')) ctx.error(rel, `service "${name}" should be in the "observability" profile`);
    if ((app || name === 'redis') && profiles.length > 0) ctx.error(rel, `service "${name}" is part of the load balancer; it should not need a profile`);
    for (const dep of Array.isArray(service.depends_on) ? service.depends_on : Object.keys(service.depends_on ?? {})) {
      if (!names.has(dep)) ctx.error(rel, `service "${name}" depends on "${dep}", which does not exist`);
    }
    for (const volume of service.volumes ?? []) {
      const source = typeof volume === 'string' ? volume.split(':')[0] : volume.source;
      if (typeof source === 'string' && source.startsWith('.') && !require('node:fs').existsSync(path.resolve(composeDir, source))) ctx.error(rel, `service "${name}" mounts ${source}, which does not exist`);
    }
    if (app) checkComposeApp(ctx, { rel, name, service, app, services, names, composeDir });
  }
  if (services.redis) checkComposeRedis(ctx, rel, compose, services.redis);
  const example = ctx.read(P.composeEnvExample);
  if (example !== undefined && !/^REDIS_PASSWORD=$/m.test(example)) ctx.error(P.composeEnvExample, 'should list REDIS_PASSWORD= with no value: the real one goes in the git-ignored infra/docker/.env');
  const backendIds = backends.map(([, s]) => envOf(s).BACKEND_ID).filter(Boolean);
  if (new Set(backendIds).size !== backendIds.length) ctx.error(rel, 'two backend services share a BACKEND_ID');
  return { compose, services, composeDir };
}

function checkComposeApp(ctx, { rel, name, service, app, services, names, composeDir }) {
  const where = `service "${name}"`;
  if (!ctx.apps[app]) {
    ctx.error(rel, `${where}: APP=${app} is not one of ${Object.keys(ctx.apps).join(', ')}`);
    return;
  }
  if (service.build) {
    const context = path.resolve(composeDir, service.build.context ?? '.');
    if (context !== ctx.root) ctx.error(rel, `${where}: build context should be the repository root (got ${service.build.context})`);
    if (path.resolve(context, service.build.dockerfile ?? 'Dockerfile') !== ctx.abs(P.dockerfile)) ctx.error(rel, `${where}: build should use ${P.dockerfile}`);
  }
  const labels = service.labels ?? {};
  if ((Array.isArray(labels) ? labels.find((l) => l.startsWith('io.lb.logs=')) : labels['io.lb.logs']) === undefined) ctx.error(rel, `${where}: without the label io.lb.logs=json Alloy does not ship its logs`);
  const env = envOf(service);
  for (const key of Object.keys(env)) if (!ctx.apps[app].env.has(key)) ctx.error(rel, `${where}: sets ${key}, which ${app} does not read (not in its env schema)`);
  for (const key of ['REDIS_URL', 'REGISTRY_URL', 'ADVERTISE_URL']) {
    const url = urlOf(env[key]);
    if (env[key] !== undefined && !url) ctx.error(rel, `${where}: ${key}=${env[key]} is not a URL`);
    if (url && !names.has(url.hostname)) ctx.error(rel, `${where}: ${key} points at "${url.hostname}", which is not a service of this file`);
    if (url && (url.username || url.password)) ctx.error(rel, `${where}: ${key} carries credentials (user:password@); give the apps REDIS_PASSWORD instead`);
  }
  if (!requiredFromEnv('REDIS_PASSWORD').test(String(env.REDIS_PASSWORD ?? ''))) ctx.error(rel, `${where}: REDIS_PASSWORD should be \${REDIS_PASSWORD:?...} (required, from the environment or infra/docker/.env): Redis requires it`);
  const probe = [].concat(service.healthcheck ? service.healthcheck.test : []).map(String);
  if (!(probe[1] === 'node' && probe.some((a) => a.endsWith('/healthcheck.cjs')) && probe.includes('ready'))) {
    ctx.error(rel, `${where}: healthcheck should be readiness (["CMD", "node", "/app/healthcheck.cjs", "ready"]): compose only waits on health and shows it, it never restarts on it`);
  }
  const registryUrl = urlOf(env.REGISTRY_URL);
  if (registryUrl && names.has(registryUrl.hostname)) {
    const target = services[registryUrl.hostname];
    if (serviceApp(ctx, target) !== 'registry') ctx.error(rel, `${where}: REGISTRY_URL points at "${registryUrl.hostname}", which is not the registry`);
    else if (Number(registryUrl.port || 80) !== Number(envOf(target).REGISTRY_PORT ?? ctx.apps.registry.ports.REGISTRY_PORT)) ctx.error(rel, `${where}: REGISTRY_URL port ${registryUrl.port} is not the registry's REGISTRY_PORT`);
  }
  if (app === 'registry' || app === 'backend-sim') {
    if (!requiredFromEnv('REGISTRY_TOKEN').test(String(env.REGISTRY_TOKEN ?? ''))) ctx.error(rel, `${where}: REGISTRY_TOKEN should be \${REGISTRY_TOKEN:?set REGISTRY_TOKEN} (required, from the environment)`);
  }
  const listening = new Set(Object.entries(ctx.apps[app].ports).map(([k, def]) => Number(env[k] ?? def)));
  for (const mapping of service.ports ?? []) {
    const containerSide = typeof mapping === 'string' ? Number(mapping.split(':').pop().split('/')[0]) : Number(mapping.target);
    if (!listening.has(containerSide)) ctx.error(rel, `${where}: publishes container port ${containerSide}, where ${app} does not listen (${[...listening].join(', ')})`);
  }
  if (app === 'backend-sim') {
    const url = urlOf(env.ADVERTISE_URL);
    const port = Number(env.BACKEND_PORT ?? ctx.apps['backend-sim'].ports.BACKEND_PORT);
    if (!url) ctx.error(rel, `${where}: ADVERTISE_URL should be set to http://${name}:<BACKEND_PORT>`);
    else if (url.hostname !== name) ctx.error(rel, `${where}: ADVERTISE_URL names "${url.hostname}", not this service: gateways would send its share to another backend`);
    else if (Number(url.port || 80) !== port) ctx.error(rel, `${where}: ADVERTISE_URL port ${url.port} is not its BACKEND_PORT ${port}`);
  }
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

module.exports = { checkBuildTargets, checkDockerfile, checkCompose, dockerignoreMatcher, serviceApp, envOf, mountOf, P };
