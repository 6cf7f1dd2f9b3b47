'use strict';
/**
 * What every infra check shares: the repository being checked, its files parsed once (YAML, JSON,
 * Nomad HCL through @cdktf/hcl2json), the findings, and small readers for hcl2json's output.
 *
 * A finding is { severity: 'error' | 'warning', file, message }. Errors are wrong configuration;
 * warnings are facts worth knowing that are not (yet) wrong.
 */
const fs = require('node:fs');
const path = require('node:path');
const { createRequire } = require('node:module');
const YAML = require('yaml');

/** HCL parses are slow (~50-150 ms a file), so they are cached by content across runs. */
const hclCache = new Map();

function parseHcl(name, text) {
  if (!hclCache.has(text)) {
    const hcl = require('@cdktf/hcl2json');
    hclCache.set(text, hcl.parse(name, text).then((v) => ({ ok: true, v }), (e) => ({ ok: false, e })));
  }
  return hclCache.get(text).then((r) => (r.ok ? r.v : Promise.reject(r.e)));
}

class Context {
  /** @param {{ root: string, apps: Record<string, { ports: Record<string, number>, env: Set<string> }> }} options */
  constructor({ root, apps }) {
    this.root = path.resolve(root);
    this.apps = apps;
    this.findings = [];
    this.texts = new Map();
    this.requireFromRoot = createRequire(path.join(this.root, 'package.json'));
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

  /** The file names in a folder of the repository (none when it is missing). */
  list(relDir, pattern) {
    const dir = this.abs(relDir);
    return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => pattern.test(f)).sort() : [];
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
    const doc = YAML.parseDocument(text, { merge: true, uniqueKeys: true });
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
      return await parseHcl(rel, text);
    } catch (err) {
      this.error(rel, `invalid HCL: ${String(err && err.message ? err.message : err).replace(/^parse config: /, '')}`);
      return undefined;
    }
  }
}

// ------------------------------------------------------------------------------------------ hcl2json

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

/** Several blocks of one kind merged into one body (`config {}`, `env {}`). */
function merged(value) {
  return Object.assign({}, ...blocks(value));
}

/**
 * Evaluates what hcl2json leaves as "${...}" against the file's variable defaults and locals:
 * references (var.x, local.x), arithmetic on them and floor(). Anything else stays as written.
 */
function hclEvaluator(parsed) {
  const vars = Object.fromEntries(labeled(parsed.variable).map(([name, body]) => [name, body.default]));
  const locals = merged(parsed.locals);
  const lookup = (kind, name) => (kind === 'var' ? vars[name] : evaluate(locals[name]));
  function expression(expr) {
    const ref = /^(var|local)\.([A-Za-z_][\w-]*)$/.exec(expr.trim());
    if (ref) return lookup(ref[1], ref[2]);
    let unresolved = false;
    const js = expr.replace(/\b(var|local)\.([A-Za-z_][\w-]*)/g, (_, kind, name) => {
      const v = lookup(kind, name);
      if (typeof v !== 'number') unresolved = true;
      return String(v);
    });
    if (unresolved || !/^[\d\s+\-*/().]+$/.test(js.replace(/\bfloor\(/g, '('))) return undefined;
    return Function('floor', `return (${js});`)(Math.floor);
  }
  function evaluate(value) {
    if (typeof value !== 'string') return value;
    const whole = /^\$\{([^{}]*)\}$/.exec(value);
    if (whole) {
      const v = expression(whole[1]);
      return v === undefined ? value : v;
    }
    return value.replace(/\$\{([^{}]*)\}/g, (text, expr) => {
      const v = expression(expr);
      return v === undefined || typeof v === 'object' ? text : String(v);
    });
  }
  return { vars, evaluate };
}

// ------------------------------------------------------------------------------------------ misc

function durationSeconds(value) {
  const m = typeof value === 'string' ? /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(value) : null;
  if (!m) return undefined;
  return Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2]];
}

function asPort(value) {
  const n = typeof value === 'number' ? value : /^\d+$/.test(String(value)) ? Number(value) : NaN;
  return Number.isInteger(n) && n > 0 && n < 65536 ? n : undefined;
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

module.exports = { Context, blocks, labeled, merged, hclEvaluator, durationSeconds, asPort, urlOf, walk };
