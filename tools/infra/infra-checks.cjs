'use strict';
/**
 * Static checks of infra/ that need no Docker, Nomad, Loki or Grafana: every file parses, and the
 * files agree with each other and with the apps (ports, variables, paths, service names, labels,
 * secrets). Run by tools/infra/infra.int-spec.ts, which derives each app's variables and ports from
 * its env schema and passes them in as `apps`.
 *
 *   nomad-checks.cjs          the Nomad jobs and their ACL policies
 *   docker-checks.cjs         the Dockerfile, its .dockerignore, docker-compose.yml
 *   observability-checks.cjs  Alloy, Loki, Prometheus, Grafana
 */
const path = require('node:path');
const { Context, walk } = require('./context.cjs');
const { checkNomad } = require('./nomad-checks.cjs');
const { checkBuildTargets, checkDockerfile, checkCompose, dockerignoreMatcher } = require('./docker-checks.cjs');
const { checkObservability } = require('./observability-checks.cjs');

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
        if (/^(?:true|false)[`.)]*$/i.test(value)) continue;
        ctx.error(rel, `line ${i + 1}: ${key} has a literal value; take it from the environment or a Nomad Variable`);
      }
    });
  }
}

// ------------------------------------------------------------------------------------------ entry

/**
 * Runs every check against the repository at `root`.
 * @param {{ root: string, apps: Record<string, { ports: Record<string, number>, env: Set<string>, defaults: Record<string, unknown> }> }} options
 *   apps: for each app, the variables its env schema reads, their defaults, and the ports among them
 * @returns {Promise<{ findings: Array<{severity: 'error'|'warning', file: string, message: string}>, errors: number, warnings: number }>}
 */
async function checkInfra({ root, apps }) {
  const ctx = new Context({ root, apps });
  // Which variable names the port /health/* is served on: the image's own healthcheck script says.
  const { HEALTH_TARGETS } = ctx.requireFromRoot(ctx.abs('infra/docker/healthcheck.cjs'));
  ctx.healthPortVar = Object.fromEntries(Object.entries(HEALTH_TARGETS).map(([app, t]) => [app, t.portVar]));
  await checkNomad(ctx);
  checkBuildTargets(ctx);
  checkDockerfile(ctx);
  const composeInfo = checkCompose(ctx);
  checkObservability(ctx, composeInfo);
  checkSecrets(ctx);
  const unique = [...new Map(ctx.findings.map((f) => [`${f.severity}|${f.file}|${f.message}`, f])).values()];
  return {
    findings: unique,
    errors: unique.filter((f) => f.severity === 'error').length,
    warnings: unique.filter((f) => f.severity === 'warning').length,
  };
}

module.exports = { checkInfra, dockerignoreMatcher };
