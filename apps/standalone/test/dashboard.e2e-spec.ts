import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { MemoryBalancerStore } from '@lb/balancing';
import { call, countByBackend, eventually, testAgent, type SimpleResponse } from '@lb/balancing/testing';
import { BackendSimEnv, bootstrapBackendSim, type RunningBackendSim } from '@lb/backend-sim';
import { bootstrapGateway, GatewayEnv, resolveGatewayConfig, type RunningGateway } from '@lb/gateway';
import { bootstrapRegistry, RegistryEnv, type RunningRegistry } from '@lb/registry';
import { loadConfig } from '@lb/runtime';

jest.setTimeout(120_000);

const TOKEN = randomBytes(24).toString('hex');
/** Generous bounds for what the page shows: it is eventual, never timed. */
const SEEN_WITHIN_MS = 20_000;
/** Slow requests stay open this long (or until afterAll cuts them), so their load stays on the bars. */
const HELD_MS = 60_000;
const ROOT = join(__dirname, '..', '..', '..');
/** `UPDATE_SCREENSHOT=1` refreshes the README's picture; otherwise the shot goes to tmp/. */
const SCREENSHOT = process.env.UPDATE_SCREENSHOT === '1' ? join(ROOT, 'docs', 'dashboard.png') : join(ROOT, 'tmp', 'dashboard.png');
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--disable-dev-shm-usage',
];

/**
 * The dashboard as a person uses it, in Debian's Chromium driven by playwright-core: a registry,
 * three backend-sims that register through their agents and two gateways, all in this process on
 * the memory store and real HTTP. The page shows load arriving, a refused write's reason, a drain
 * pressed on the page (after which the gateways send that backend nothing), and fits a phone.
 */
describe('registry dashboard in a real browser', () => {
  const agent = testAgent();
  const store = new MemoryBalancerStore();
  let registry: RunningRegistry;
  let gateways: RunningGateway[] = [];
  let sims: RunningBackendSim[] = [];
  let browser: Browser;
  let page: Page;
  const held: Promise<SimpleResponse>[] = [];

  const field = (backend: string, name: string) => page.locator(`[data-backend="${backend}"] dd[data-field="${name}"]`);
  /** Each backend's figure `name` as the page shows it now. */
  const figures = (name: string): Promise<Record<string, string>> =>
    page.evaluate((fieldName) => {
      const { document } = globalThis as unknown as InPage;
      return Object.fromEntries(
        [...document.querySelectorAll('[data-backend]')].map((el) => [el.dataset.backend ?? '', el.querySelector(`dd[data-field="${fieldName}"]`)?.textContent ?? '']),
      );
    }, name);
  const everyBackend = (name: string, test: (value: string) => boolean) =>
    eventually(async () => Object.values(await figures(name)).filter(test).length === 3, SEEN_WITHIN_MS, `${name} on every backend`);
  const barWidth = (backend: string, segment: string) =>
    page.locator(`[data-backend="${backend}"] .seg-${segment}`).evaluate((el: PageElement) => el.getBoundingClientRect().width);

  beforeAll(async () => {
    registry = await bootstrapRegistry(
      loadConfig(RegistryEnv, { REGISTRY_PORT: '0', REGISTRY_HOST: '127.0.0.1', REGISTRY_TOKEN: TOKEN, LOG_LEVEL: 'silent' }),
      { store },
    );
    sims = await Promise.all(
      ['s1', 's2', 's3'].map((id) =>
        bootstrapBackendSim(
          loadConfig(BackendSimEnv, { BACKEND_PORT: '0', BACKEND_HOST: '127.0.0.1', BACKEND_ID: id, REGISTRY_URL: registry.url, REGISTRY_TOKEN: TOKEN, LOG_LEVEL: 'silent' }),
          { store },
        ),
      ),
    );
    gateways = await Promise.all(
      ['gw-a', 'gw-b'].map((id) =>
        bootstrapGateway(
          resolveGatewayConfig(
            // Announced every LEASE_TTL_MS / 3: a short TTL shows the replicas on the page sooner.
            loadConfig(GatewayEnv, { GATEWAY_ID: id, GATEWAY_PORT: '0', GATEWAY_ADMIN_PORT: '0', GATEWAY_HOST: '127.0.0.1', LEASE_TTL_MS: '3000', LOG_LEVEL: 'silent' }),
          ),
          { store },
        ),
      ),
    );
    await eventually(async () => (await store.list('default')).filter((b) => b.health === 'up').length === 3, SEEN_WITHIN_MS, 'three backends registered and up');
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  });

  afterAll(async () => {
    await browser?.close();
    await agent.destroy(); // cuts the requests still held open
    await Promise.allSettled(held);
    await Promise.all(gateways.map((g) => g.close()));
    await Promise.all(sims.map((s) => s.close()));
    await registry?.close();
    await store.close();
  });

  it('shows every backend and both gateways, then the load arriving through the gateways', async () => {
    await page.goto(`${registry.url}/dashboard`);
    await page.locator('#connection[data-state="live"]').waitFor({ timeout: SEEN_WITHIN_MS });
    for (const id of ['s1', 's2', 's3']) {
      await page.locator(`[data-backend="${id}"]`).waitFor({ timeout: SEEN_WITHIN_MS });
      await expectText(field(id, 'slots'), '0');
    }
    for (const id of ['gw-a', 'gw-b']) await page.locator(`[data-gateway="${id}"]`).filter({ hasText: 'store \u2713 up' }).waitFor({ timeout: SEEN_WITHIN_MS });

    // Quick requests first (their shares show), then slow ones held open (their bars show).
    const quick = await Promise.all(Array.from({ length: 30 }, (_, i) => call(agent, `${gateways[i % 2].trafficUrl}/work?ms=20`)));
    expect(quick.every((r) => r.status === 200)).toBe(true);
    await everyBackend('share', (v) => /^\d+(\.\d)?%$/.test(v));
    for (let i = 0; i < 12; i++) held.push(call(agent, `${gateways[i % 2].trafficUrl}/work?ms=${HELD_MS}`));
    await everyBackend('slots', (v) => Number(v) > 0);
    for (const id of ['s1', 's2', 's3']) expect(await barWidth(id, 'slots')).toBeGreaterThan(0);

    // Three requests straight to s3, past every gateway: only its own count shows them.
    for (let i = 0; i < 3; i++) held.push(call(agent, `${sims[2].url}/work?ms=${HELD_MS}`));
    await eventually(async () => (await barWidth('s3', 'reported')) > 0, SEEN_WITHIN_MS, 's3 counts more than the gateways sent it');
    expect(Number(await field('s3', 'reported').textContent())).toBeGreaterThan(Number(await field('s3', 'slots').textContent()));
    await page.locator('[data-gateway="gw-a"] .leases').filter({ hasText: /s1 [1-9]/ }).waitFor({ timeout: SEEN_WITHIN_MS });
  });

  it('shows why a write was refused, then drains a backend with the token: the page shows it and the gateways send it nothing more', async () => {
    await page.fill('#token', 'not-the-registry-token');
    await page.getByRole('button', { name: 'Drain s2' }).click();
    await expectText(page.locator('#action-result'), /refused \(403\): the bearer token is not valid for this registry/);

    await page.fill('#token', TOKEN);
    await page.getByRole('button', { name: 'Drain s2' }).click();
    await expectText(page.locator('#action-result'), 'Draining s2.');
    await page.locator('[data-backend="s2"][data-state="draining"]').waitFor({ timeout: SEEN_WITHIN_MS });
    await expectText(page.locator('[data-backend="s2"] .badge').first(), /draining/);
    await page.getByRole('button', { name: 'Activate s2' }).waitFor({ timeout: SEEN_WITHIN_MS });
    await page.locator('#events li[data-type="drained"]').filter({ hasText: 's2' }).waitFor({ timeout: SEEN_WITHIN_MS });
    await expectText(field('s2', 'fair'), '0%');

    // The token stays in this tab's sessionStorage: not in the address, not in localStorage.
    expect(page.url()).not.toContain(TOKEN);
    const stored = await page.evaluate(() => {
      const { sessionStorage, localStorage } = globalThis as unknown as InPage;
      return [sessionStorage.getItem('lb-registry-token'), localStorage.length];
    });
    expect(stored).toEqual([TOKEN, 0]);

    const after = await Promise.all(Array.from({ length: 20 }, (_, i) => call(agent, `${gateways[i % 2].trafficUrl}/work?ms=10`)));
    expect(after.every((r) => r.status === 200)).toBe(true);
    expect(Object.keys(countByBackend(after))).not.toContain('s2');

    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  });

  it('fits a 375 px wide phone screen without scrolling sideways', async () => {
    const phone = await browser.newPage({ viewport: { width: 375, height: 812 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    try {
      await phone.goto(`${registry.url}/dashboard`);
      await phone.locator('[data-backend="s3"]').waitFor({ timeout: SEEN_WITHIN_MS });
      await phone.locator('[data-gateway="gw-b"]').waitFor({ timeout: SEEN_WITHIN_MS });
      const { scrollWidth, innerWidth } = await phone.evaluate(() => {
        const { document, innerWidth: width } = globalThis as unknown as InPage;
        return { scrollWidth: document.documentElement.scrollWidth, innerWidth: width };
      });
      expect(innerWidth).toBe(375);
      expect(scrollWidth).toBeLessThanOrEqual(innerWidth);
    } finally {
      await phone.close();
    }
  });
});

/** The little of the browser's globals these checks read (the repo compiles without the DOM library). */
interface PageElement {
  readonly dataset: Record<string, string | undefined>;
  readonly textContent: string | null;
  readonly scrollWidth: number;
  querySelector(selector: string): PageElement | null;
  getBoundingClientRect(): { readonly width: number };
}
interface InPage {
  readonly document: { readonly documentElement: PageElement; querySelectorAll(selector: string): Iterable<PageElement> };
  readonly innerWidth: number;
  readonly sessionStorage: { getItem(key: string): string | null };
  readonly localStorage: { readonly length: number };
}

/** Polls a locator's text until it matches (the page updates live). */
async function expectText(locator: ReturnType<Page['locator']>, expected: string | RegExp): Promise<void> {
  await eventually(
    async () => {
      const text = (await locator.textContent()) ?? '';
      return typeof expected === 'string' ? text === expected : expected.test(text);
    },
    SEEN_WITHIN_MS,
    `text ${String(expected)}`,
  );
}
