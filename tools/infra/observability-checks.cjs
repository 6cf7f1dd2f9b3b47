'use strict';
/**
 * Logs and dashboards: the Alloy pipeline (infra/observability/alloy, shared by compose and the Nomad
 * job) produces the Loki labels the Grafana dashboards query, from both of its sources; Loki,
 * Prometheus and Grafana point at each other; dashboards use provisioned datasources only.
 */
const fs = require('node:fs');
const path = require('node:path');
const { asPort, urlOf, walk } = require('./context.cjs');
const { serviceApp, envOf, mountOf, P: DOCKER } = require('./docker-checks.cjs');

const P = {
  loki: 'infra/observability/loki/loki.yml',
  alloyDir: 'infra/observability/alloy',
  alloyPipeline: 'infra/observability/alloy/lb-logs.alloy',
  alloySources: { compose: 'infra/observability/alloy/docker.alloy', nomad: 'infra/observability/alloy/nomad.alloy' },
  prometheus: 'infra/observability/prometheus/prometheus.yml',
  datasources: 'infra/observability/grafana/provisioning/datasources',
  dashboardProviders: 'infra/observability/grafana/provisioning/dashboards',
  dashboards: 'infra/observability/grafana/dashboards',
};

// ------------------------------------------------------------------------------------------ alloy

/** Bodies of every `name { ... }` block (balanced braces; strings and // comments skipped). */
function alloyBlocks(text, name) {
  const clean = text.replace(/\/\/[^\n]*/g, '');
  const bodies = [];
  const re = new RegExp(`(?:^|\\s)${name.replace(/\./g, '\\.')}(?:\\s+"[^"]*")?\\s*\\{`, 'g');
  for (let m = re.exec(clean); m; m = re.exec(clean)) {
    let depth = 1;
    let i = m.index + m[0].length;
    let inString = false;
    for (; i < clean.length && depth > 0; i++) {
      const c = clean[i];
      if (inString) {
        if (c === '\\') i++;
        else if (c === '"') inString = false;
      } else if (c === '"') inString = true;
      else if (c === '{') depth++;
      else if (c === '}') depth--;
    }
    bodies.push(clean.slice(m.index + m[0].length, i - 1));
  }
  return bodies;
}

/** `key = "..."` entries of a `values = { ... }` or `expressions = { ... }` map. */
function alloyMap(body, attr) {
  const m = new RegExp(`${attr}\\s*=\\s*\\{([^}]*)\\}`).exec(body);
  return m ? Object.fromEntries([...m[1].matchAll(/([A-Za-z_]\w*)\s*=\s*"([^"]*)"/g)].map((e) => [e[1], e[2]])) : {};
}

/** The labels one source file plus the shared pipeline put on every line, checked for their origin. */
function alloyLabels(ctx, sourceRel, pipeline) {
  const text = ctx.read(sourceRel);
  if (text === undefined) return undefined;
  const labels = new Set();
  const extracted = new Set();
  for (const t of [text, pipeline]) {
    for (const body of alloyBlocks(t, 'stage.json')) for (const k of Object.keys(alloyMap(body, 'expressions'))) extracted.add(k);
    for (const body of alloyBlocks(t, 'stage.regex')) for (const g of body.matchAll(/\(\?P<(\w+)>/g)) extracted.add(g[1]);
    for (const body of alloyBlocks(t, 'stage.template')) for (const s of body.matchAll(/source\s*=\s*"(\w+)"/g)) extracted.add(s[1]);
    for (const body of alloyBlocks(t, 'rule')) for (const l of body.matchAll(/target_label\s*=\s*"(\w+)"/g)) labels.add(l[1]);
    for (const body of alloyBlocks(t, 'stage.static_labels')) Object.keys(alloyMap(body, 'values')).forEach((l) => labels.add(l));
  }
  for (const [file, t] of [[sourceRel, text], [P.alloyPipeline, pipeline]]) {
    for (const body of alloyBlocks(t, 'stage.labels')) {
      for (const [label, from] of Object.entries(alloyMap(body, 'values'))) {
        labels.add(label);
        if (!extracted.has(from || label)) ctx.error(file, `stage.labels: "${label}" comes from "${from || label}", which no stage extracts`);
      }
    }
  }
  if (!/forward_to\s*=\s*\[\s*loki\.process\.lb\.receiver\s*\]/.test(text.replace(/\/\/[^\n]*/g, ''))) ctx.error(sourceRel, 'does not forward to loki.process.lb.receiver (the shared pipeline in lb-logs.alloy)');
  return labels;
}

function checkAlloy(ctx, composeInfo) {
  const pipeline = ctx.read(P.alloyPipeline);
  if (pipeline === undefined) return new Set();
  const json = alloyBlocks(pipeline, 'stage.json')[0];
  const expressions = json ? alloyMap(json, 'expressions') : {};
  for (const field of ['level', 'service', 'req.id']) {
    if (!Object.entries(expressions).some(([k, v]) => (v || k) === field)) ctx.error(P.alloyPipeline, `stage.json does not extract "${field}"`);
  }
  if (!/url\s*=\s*sys\.env\("LOKI_PUSH_URL"\)/.test(pipeline)) ctx.error(P.alloyPipeline, 'loki.write should push to sys.env("LOKI_PUSH_URL"), set by compose and the Nomad job');
  const perSource = Object.entries(P.alloySources).map(([where, rel]) => [where, alloyLabels(ctx, rel, pipeline)]);
  for (const [where, labels] of perSource) {
    for (const needed of ['job', 'service', 'level', 'kind', 'stream']) if (labels && !labels.has(needed)) ctx.error(P.alloySources[where], `lines from ${where} get no "${needed}" label`);
  }

  // compose: Alloy runs the pipeline with docker.alloy, selects the apps' label and reaches Loki.
  const services = composeInfo ? composeInfo.services : {};
  const alloy = services.alloy;
  if (alloy) {
    const dir = [].concat(alloy.command ?? []).map(String).pop();
    for (const rel of [P.alloyPipeline, P.alloySources.compose]) {
      const target = mountOf(ctx, composeInfo, 'alloy', rel);
      if (!target) ctx.error(DOCKER.compose, `service "alloy" does not mount ${rel}`);
      else if (path.posix.dirname(target) !== dir) ctx.error(DOCKER.compose, `service "alloy" mounts ${rel} at ${target}, outside the directory it runs (${dir})`);
    }
    const push = urlOf(envOf(alloy).LOKI_PUSH_URL);
    if (!push || !services[push.hostname]) ctx.error(DOCKER.compose, 'service "alloy": LOKI_PUSH_URL should name the loki service');
    const filter = /values\s*=\s*\["io\.lb\.logs=(\w+)"\]/.exec(ctx.read(P.alloySources.compose) ?? '');
    for (const [name, s] of Object.entries(services)) {
      if (!serviceApp(ctx, s) || !filter) continue;
      const have = s.labels && !Array.isArray(s.labels) ? s.labels['io.lb.logs'] : undefined;
      if (have !== undefined && String(have) !== filter[1]) ctx.error(DOCKER.compose, `service "${name}": label io.lb.logs=${have}, Alloy selects io.lb.logs=${filter[1]}`);
    }
  }
  // Both sources give these labels, so a dashboard may query them on compose and on Nomad alike.
  const [first, ...rest] = perSource.map(([, l]) => l ?? new Set());
  return new Set([...first].filter((l) => rest.every((r) => r.has(l))));
}

// ------------------------------------------------------------------------------------------ the rest

function knownMetrics(ctx) {
  const names = new Set();
  for (const dir of ['libs', 'apps']) {
    for (const file of walk(ctx.abs(dir))) {
      if (!file.endsWith('.ts') || /\.(spec|int-spec|e2e-spec)\.ts$/.test(file)) continue;
      for (const m of fs.readFileSync(file, 'utf8').matchAll(/name:\s*['"`](lb_[a-z0-9_]+)['"`]/g)) names.add(m[1]);
    }
  }
  return names;
}

function checkObservability(ctx, composeInfo) {
  const services = composeInfo ? composeInfo.services : {};
  const loki = ctx.yaml(P.loki);
  const lokiPort = loki && loki.server ? loki.server.http_listen_port : undefined;
  if (loki && !asPort(lokiPort)) ctx.error(P.loki, 'server.http_listen_port is not set');
  if (loki && !(loki.schema_config && (loki.schema_config.configs ?? []).some((c) => c.schema === 'v13'))) ctx.error(P.loki, 'use schema v13 (required for structured metadata in Loki 3)');
  if (composeInfo && loki) {
    const target = mountOf(ctx, composeInfo, 'loki', P.loki);
    if (!target) ctx.error(DOCKER.compose, `service "loki" does not mount ${P.loki}`);
    else if (![].concat((services.loki && services.loki.command) || []).some((c) => String(c).includes(target))) ctx.error(DOCKER.compose, `service "loki" mounts its config at ${target} but does not start with -config.file=${target}`);
  }
  const lokiLabels = checkAlloy(ctx, composeInfo);

  const prometheus = ctx.yaml(P.prometheus);
  if (prometheus) {
    const gateways = Object.entries(services).filter(([, s]) => serviceApp(ctx, s) === 'gateway');
    const adminPorts = new Set(gateways.map(([, s]) => Number(envOf(s).GATEWAY_ADMIN_PORT ?? ctx.apps.gateway.ports.GATEWAY_ADMIN_PORT)));
    const targets = [];
    for (const job of prometheus.scrape_configs ?? []) {
      for (const sd of job.dns_sd_configs ?? []) for (const n of sd.names ?? []) targets.push({ job, host: n, port: Number(sd.port) });
      for (const sc of job.static_configs ?? []) for (const t of sc.targets ?? []) targets.push({ job, host: t.split(':')[0], port: Number(t.split(':')[1]) });
    }
    const gatewayTargets = targets.filter((t) => gateways.some(([name]) => name === t.host));
    if (gatewayTargets.length === 0) ctx.error(P.prometheus, 'no scrape job targets the gateway service');
    for (const t of gatewayTargets) {
      if (!adminPorts.has(t.port)) ctx.error(P.prometheus, `job "${t.job.job_name}" scrapes ${t.host}:${t.port}; the gateway's /metrics is on its admin port ${[...adminPorts].join(', ')}`);
      if ((t.job.metrics_path ?? '/metrics') !== '/metrics') ctx.error(P.prometheus, `job "${t.job.job_name}": metrics_path should be /metrics`);
    }
    if (composeInfo && !mountOf(ctx, composeInfo, 'prometheus', P.prometheus)) ctx.error(DOCKER.compose, `service "prometheus" does not mount ${P.prometheus}`);
  }
  checkGrafana(ctx, composeInfo, lokiPort, lokiLabels);
}

function checkGrafana(ctx, composeInfo, lokiPort, lokiLabels) {
  const services = composeInfo ? composeInfo.services : {};
  const datasourceUids = new Map();
  for (const file of ctx.list(P.datasources, /\.ya?ml$/)) {
    const rel = `${P.datasources}/${file}`;
    const doc = ctx.yaml(rel);
    for (const ds of (doc && doc.datasources) || []) {
      if (!ds.uid) ctx.error(rel, `datasource "${ds.name}" has no uid; dashboards refer to datasources by uid`);
      else datasourceUids.set(ds.uid, ds.type);
      const url = urlOf(ds.url);
      if (!url) ctx.error(rel, `datasource "${ds.name}": url ${ds.url} is not a URL`);
      else if (composeInfo && !services[url.hostname]) ctx.error(rel, `datasource "${ds.name}": host "${url.hostname}" is not a compose service`);
      else if (url.hostname === 'loki' && lokiPort && Number(url.port) !== lokiPort) ctx.error(rel, `datasource "${ds.name}": port ${url.port} is not Loki's ${lokiPort}`);
    }
  }
  if (datasourceUids.size === 0) ctx.error(P.datasources, 'no provisioned datasource');

  const providerPaths = ctx.list(P.dashboardProviders, /\.ya?ml$/).flatMap((file) => ((ctx.yaml(`${P.dashboardProviders}/${file}`) || {}).providers || []).map((p) => p.options && p.options.path).filter(Boolean));
  if (providerPaths.length === 0) ctx.error(P.dashboardProviders, 'no dashboard provider with options.path');
  if (composeInfo) {
    const target = mountOf(ctx, composeInfo, 'grafana', P.dashboards);
    if (!target) ctx.error(DOCKER.compose, `service "grafana" does not mount ${P.dashboards}`);
    else if (!providerPaths.includes(target)) ctx.error(P.dashboardProviders, `providers read ${providerPaths.join(', ')}, but compose mounts the dashboards at ${target}`);
    if (mountOf(ctx, composeInfo, 'grafana', 'infra/observability/grafana/provisioning') !== '/etc/grafana/provisioning') ctx.error(DOCKER.compose, 'service "grafana" should mount infra/observability/grafana/provisioning at /etc/grafana/provisioning');
  }

  const metrics = knownMetrics(ctx);
  const files = ctx.list(P.dashboards, /\.json$/);
  if (files.length === 0) ctx.error(P.dashboards, 'no dashboard JSON');
  const uids = new Set();
  for (const file of files) {
    const rel = `${P.dashboards}/${file}`;
    const dash = ctx.json(rel);
    if (!dash) continue;
    if (!dash.uid || !dash.title) ctx.error(rel, 'a dashboard needs a uid and a title');
    if (uids.has(dash.uid)) ctx.error(rel, `duplicate dashboard uid ${dash.uid}`);
    uids.add(dash.uid);
    const templating = (dash.templating && dash.templating.list) || [];
    const variables = new Set(templating.map((v) => v.name));
    const panels = (dash.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== 'row');
    if (panels.length === 0) ctx.error(rel, 'no panels');
    for (const ref of [...panels.flatMap((p) => [p.datasource, ...(p.targets ?? []).map((t) => t.datasource)]), ...templating.map((v) => v.datasource)].filter(Boolean)) {
      const uid = typeof ref === 'string' ? ref : ref.uid;
      if (uid && !uid.startsWith('$') && !uid.startsWith('-- ') && !datasourceUids.has(uid)) ctx.error(rel, `refers to datasource uid "${uid}", which is not provisioned`);
    }
    const kinds = new Set();
    for (const panel of panels) {
      const targets = (panel.targets ?? []).filter((t) => typeof t.expr === 'string' && t.expr.trim());
      if (targets.length === 0) ctx.error(rel, `panel "${panel.title}" has no query`);
      for (const t of targets) {
        const type = (t.datasource && t.datasource.type) || (panel.datasource && panel.datasource.type);
        kinds.add(type);
        for (const v of t.expr.matchAll(/\$(?:\{)?([A-Za-z_][A-Za-z0-9_]*)/g)) {
          if (!v[1].startsWith('__') && !variables.has(v[1])) ctx.error(rel, `panel "${panel.title}": uses $${v[1]}, which is not a dashboard variable`);
        }
        if (type === 'loki') {
          for (const selector of t.expr.matchAll(/\{([^{}]*)\}/g)) {
            for (const m of selector[1].matchAll(/([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)/g)) {
              if (!lokiLabels.has(m[1])) ctx.error(rel, `panel "${panel.title}": Loki label "${m[1]}" is not set by the Alloy pipeline on both compose and Nomad (${[...lokiLabels].join(', ')})`);
            }
          }
        } else if (type === 'prometheus') {
          for (const m of t.expr.matchAll(/\b(lb_[a-z0-9_]+)/g)) {
            if (!metrics.has(m[1]) && !metrics.has(m[1].replace(/_(bucket|sum|count)$/, ''))) ctx.warn(rel, `panel "${panel.title}": metric ${m[1]} is not exported by any code in libs/ or apps/ yet`);
          }
        }
      }
    }
    if (!kinds.has('prometheus')) ctx.error(rel, 'no Prometheus panel');
    if (!kinds.has('loki')) ctx.error(rel, 'no Loki panel');
  }
}

module.exports = { checkObservability };
