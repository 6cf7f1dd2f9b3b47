import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';

/**
 * Prometheus' own checks of what infra/observability/prometheus holds, with Debian's promtool
 * (package `prometheus`; .ci/run installs it, and these tests require it rather than skip):
 * the configuration and the rule files it loads are valid, every alert passes its unit tests in
 * alerts.test.yml (firing and quiet cases), and the dashboard's balance panels compute what their
 * titles say on known series (the PromQL of the JSON, run by promtool's expression tests).
 */
const run = promisify(execFile);
const root = join(__dirname, '..', '..');
const prometheusDir = join(root, 'infra', 'observability', 'prometheus');
const PROMTOOL = process.env.PROMTOOL ?? 'promtool';

async function promtool(...args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run(PROMTOOL, args, { cwd: prometheusDir });
    return stdout + stderr;
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string; stderr?: string };
    if (e.code === 'ENOENT') throw new Error(`${PROMTOOL} not found: install Debian's prometheus package (apt-get install -y prometheus), which .ci/run does, or set PROMTOOL`);
    throw new Error(`promtool ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

interface Rule {
  readonly alert?: string;
  readonly expr: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}
interface AlertTest {
  readonly alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[];
}

const alerts = (parse(readFileSync(join(prometheusDir, 'alerts.yml'), 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules);
const unitTests = (parse(readFileSync(join(prometheusDir, 'alerts.test.yml'), 'utf8')) as { tests: AlertTest[] }).tests;

describe('Prometheus configuration and alerts (promtool)', () => {
  it('prometheus.yml is valid and loads alerts.yml', async () => {
    const out = await promtool('check', 'config', 'prometheus.yml');
    expect(out).toContain('SUCCESS: 1 rule files found');
  });

  it('alerts.yml passes promtool check rules', async () => {
    expect(await promtool('check', 'rules', 'alerts.yml')).toContain(`SUCCESS: ${alerts.length} rules found`);
  });

  it('every alert passes its unit tests (promtool test rules alerts.test.yml)', async () => {
    expect(await promtool('test', 'rules', 'alerts.test.yml')).toContain('SUCCESS');
  });

  it.each(alerts.map((a) => [a.alert ?? '(recording rule)', a] as const))('%s has a severity, a summary and a description, and a test where it fires and one where it stays quiet', (name, rule) => {
    expect(name).not.toBe('(recording rule)');
    expect(['critical', 'warning']).toContain(rule.labels?.severity);
    expect(rule.annotations?.summary).toBeTruthy();
    expect(rule.annotations?.description).toBeTruthy();
    const cases = unitTests.flatMap((t) => t.alert_rule_test ?? []).filter((c) => c.alertname === name);
    expect(cases.some((c) => (c.exp_alerts ?? []).length > 0)).toBe(true);
    expect(cases.some((c) => (c.exp_alerts ?? []).length === 0)).toBe(true);
  });
});

// ------------------------------------------------------------------------------ dashboard

interface Target {
  readonly refId: string;
  readonly expr: string;
}
interface Panel {
  readonly type: string;
  readonly title: string;
  readonly gridPos: { readonly y: number };
  readonly targets?: Target[];
}

const dashboard = JSON.parse(readFileSync(join(root, 'infra', 'observability', 'grafana', 'dashboards', 'lb-overview.json'), 'utf8')) as { panels: Panel[] };
/** What Grafana puts in place of its variables here: all pools, a 2-minute rate window, a 10-minute range. */
const grafana = (expr: string) => expr.replaceAll('$__rate_interval', '2m').replaceAll('$__range', '10m').replaceAll('$pool', '.*');

const series = (name: string, job: string, values: Record<string, string>, extra = '') =>
  Object.entries(values).map(([backend, v]) => ({ series: `${name}{job="${job}", instance="${job}-1", pool="api", backend="${backend}"${extra}}`, values: v }));

/**
 * Pool api: a (weight 1, 6 active), b (1, 2), c (2, 4), d (1, 0, down), e (1, 3, draining). The
 * gateways sent a 40/s (over two gateways), b 8/s, c 16/s; every answer was a 200.
 */
const input = [
  ...series('lb_backend_active', 'lb-registry', { a: '6x10', b: '2x10', c: '4x10', d: '0x10', e: '3x10' }),
  ...series('lb_backend_weight', 'lb-registry', { a: '1x10', b: '1x10', c: '2x10', d: '1x10', e: '1x10' }),
  ...series('lb_backend_healthy', 'lb-registry', { a: '1x10', b: '1x10', c: '1x10', d: '0x10', e: '1x10' }),
  ...series('lb_backend_draining', 'lb-registry', { a: '0x10', b: '0x10', c: '0x10', d: '0x10', e: '1x10' }),
  // a second registry replica exports the same store's view
  { series: 'lb_backend_active{job="lb-registry", instance="lb-registry-2", pool="api", backend="a"}', values: '6x10' },
  ...series('lb_gateway_backend_requests_total', 'lb-gateway', { a: '0+1200x10', b: '0+480x10', c: '0+960x10' }),
  { series: 'lb_gateway_backend_requests_total{job="lb-gateway", instance="lb-gateway-2", pool="api", backend="a"}', values: '0+1200x10' },
  { series: 'lb_gateway_requests_total{job="lb-gateway", instance="lb-gateway-1", pool="api", status="200"}', values: '0+3840x10' },
  { series: 'lb_registry_evictions_total{job="lb-registry", instance="lb-registry-1", pool="api"}', values: '0+1x10' },
];

const perBackend = (values: Record<string, number>) => Object.entries(values).map(([backend, value]) => ({ labels: `{backend="${backend}", pool="api"}`, value }));
/** Panel title -> refId -> the samples it must show at 10m. */
const expected: Record<string, Record<string, { labels: string; value: number }[]>> = {
  'Share of 5xx answers': { A: [{ labels: '{}', value: 0 }] },
  'Load per unit of weight': { A: perBackend({ a: 6, b: 2, c: 2, d: 0, e: 3 }) },
  'Max / mean load per pool (1 = even)': { A: [{ labels: '{pool="api"}', value: 2 }] }, // 6 / (12 / 4), d and e left out
  'Share of requests vs fair share': {
    A: perBackend({ a: 0.625, b: 0.125, c: 0.25 }),
    B: perBackend({ a: 0.25, b: 0.25, c: 0.5, d: 0, e: 0 }),
  },
  'Served ÷ fair share over the time range (1 = fair)': { A: perBackend({ a: 2.5, b: 0.5, c: 0.5 }) },
  'Health and draining per backend': { A: perBackend({ a: 1, b: 1, c: 1, d: 0, e: 3 }) },
  'Evictions, reaped gateways, degraded gateways': { A: [{ labels: '{pool="api"}', value: 2 }], B: [], C: [{ labels: '{}', value: 0 }] },
};

describe('the dashboard\'s balance panels (promtool expression tests)', () => {
  const panels = dashboard.panels.filter((p) => p.type !== 'row');
  const balanceRow = dashboard.panels.find((p) => p.type === 'row' && p.title.startsWith('Balance quality'))!;
  const nextRow = dashboard.panels.find((p) => p.type === 'row' && p.gridPos.y > balanceRow.gridPos.y)!;

  it('covers every query of the balance row and the share of 5xx', () => {
    const inRow = panels.filter((p) => p.gridPos.y > balanceRow.gridPos.y && p.gridPos.y < nextRow.gridPos.y).map((p) => p.title);
    expect(new Set(Object.keys(expected))).toEqual(new Set([...inRow, 'Share of 5xx answers']));
    for (const title of Object.keys(expected)) {
      expect(panels.find((p) => p.title === title)?.targets?.map((t) => t.refId)).toEqual(Object.keys(expected[title]));
    }
  });

  it('each query shows the expected values on known series', async () => {
    const promqlTests = Object.entries(expected).flatMap(([title, byRef]) =>
      panels.find((p) => p.title === title)!.targets!.map((t) => ({ expr: grafana(t.expr), eval_time: '10m', exp_samples: byRef[t.refId] })),
    );
    const dir = mkdtempSync(join(tmpdir(), 'lb-dashboard-'));
    try {
      writeFileSync(join(dir, 'none.yml'), 'groups: []\n');
      const file = join(dir, 'dashboard.test.yml');
      writeFileSync(file, stringify({ rule_files: ['none.yml'], evaluation_interval: '1m', tests: [{ interval: '1m', input_series: input, promql_expr_test: promqlTests }] }));
      expect(await promtool('test', 'rules', file)).toContain('SUCCESS');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
