/**
 * The dashboard in real Chromium (Debian's /usr/bin/chromium, driven by playwright-core) against a real
 * `slipway up` with a deployed app: log in, the app list, dynos, config vars, scaling, rollback, live logs,
 * maintenance, domains, destroy. Any console error or uncaught page exception fails the test; screenshots of
 * the main pages go to test-output/dashboard/.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { PACKAGE_ROOT, WEB_DIST } from '../../server/paths.js';
import { FIXTURES } from '../helpers/platform.js';
import { requestWithHost } from '../helpers/http.js';
import { freePort, waitFor } from '../helpers/procs.js';
import { cleanEnv, startUp, type Up } from '../helpers/slipway.js';
import { issue, makeCa } from '../helpers/certs.js';

const run = promisify(execFile);
const CHROMIUM = '/usr/bin/chromium';
const SHOTS = join(PACKAGE_ROOT, 'test-output', 'dashboard');
const APP = 'dash-app';

let up: Up;
let dataDir: string;
let apiPort: number;
let routerPort: number;
let token: string;
let browser: Browser;
let base: string;
let src: string;
let git: (args: string[]) => Promise<unknown>;
let push: () => Promise<unknown>;

async function api<T = unknown>(method: string, path: string, body?: unknown, auth = token): Promise<{ status: number; body: T }> {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${auth}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, body: (text ? JSON.parse(text) : undefined) as T };
}

/** A page whose console errors and uncaught exceptions are collected; `check()` fails the test on any. */
async function openPage(context?: BrowserContext): Promise<{ page: Page; errors: string[]; check(allowed?: RegExp[]): void; context: BrowserContext }> {
  const ctx = context ?? (await browser.newContext({ viewport: { width: 1280, height: 860 } }));
  const page = await ctx.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`page exception: ${e.stack ?? e.message}`));
  return {
    page,
    errors,
    context: ctx,
    check(allowed = []) {
      const bad = errors.filter((e) => !allowed.some((re) => re.test(e)));
      assert.deepEqual(bad, [], 'no console errors or page exceptions');
    },
  };
}

const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

/** Runs a test's steps on a page; when one fails, the page as it was is saved as failure-NAME.png beside the others. */
async function onPage(name: string, steps: (p: Awaited<ReturnType<typeof openPage>>) => Promise<void>): Promise<void> {
  const p = await openPage();
  try {
    await steps(p);
  } catch (e) {
    await shot(p.page, `failure-${name}`).catch(() => undefined);
    throw e;
  } finally {
    await p.context.close();
  }
}

before(async () => {
  await stat(CHROMIUM).catch(() => {
    throw new Error(`Chromium is not at ${CHROMIUM}: run npm run setup as root (it installs Debian's chromium)`);
  });
  await stat(join(WEB_DIST, 'index.html')).catch(() => {
    throw new Error(`the dashboard is not built (${WEB_DIST}): run npm run build`);
  });
  await mkdir(SHOTS, { recursive: true });
  dataDir = await mkdtemp(join(tmpdir(), 'slipway-dash-'));
  [apiPort, routerPort] = [await freePort(), await freePort()];
  up = startUp(['--data-dir', dataDir, '--api-port', String(apiPort), '--router-port', String(routerPort)], cleanEnv({ HOME: join(dataDir, 'home') }));
  [, token] = await up.waitForOutput(/Admin API token\s+(slw_\S+)/);
  await up.waitForOutput(/Press Ctrl-C to stop/);
  base = `http://127.0.0.1:${apiPort}`;

  // A deployed app with a web and a worker process type.
  assert.equal((await api('POST', '/apps', { name: APP })).status, 201);
  src = join(dataDir, 'src');
  await cp(join(FIXTURES, 'procfile-shell'), src, { recursive: true });
  const gitEnv = { ...cleanEnv({ HOME: join(dataDir, 'home') }), GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com', GIT_TERMINAL_PROMPT: '0' };
  git = (args: string[]) => run('git', args, { cwd: src, env: gitEnv });
  await git(['init', '-q', '-b', 'main']);
  await git(['add', '-A']);
  await git(['commit', '-q', '-m', 'first']);
  const basic = Buffer.from(`t:${token}`).toString('base64');
  push = () => git(['-c', `http.extraHeader=Authorization: Basic ${basic}`, 'push', '-q', `${base}/${APP}.git`, 'main']);
  await push();
  await waitFor('web.1 up', async () => (await api<{ name: string; state: string }[]>('GET', `/apps/${APP}/dynos`)).body.some((d) => d.name === 'web.1' && d.state === 'up'), 60_000, 300);

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close().catch(() => undefined);
  await up?.stop('SIGTERM');
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

test('when the dashboard is fetched, then it is served at / with cache headers and a strict content policy, and assets are immutable', async () => {
  const index = await fetch(`${base}/`);
  assert.equal(index.status, 200);
  assert.equal(index.headers.get('cache-control'), 'no-cache');
  assert.match(index.headers.get('content-security-policy') ?? '', /default-src 'self'; script-src 'self'/);
  const html = await index.text();
  const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
  assert.ok(asset, html);
  const js = await fetch(`${base}${asset}`);
  assert.equal(js.status, 200);
  assert.match(js.headers.get('cache-control') ?? '', /max-age=31536000, immutable/);
  assert.match(js.headers.get('content-type') ?? '', /javascript/);
  // The page carries no data: the API behind it still wants a token.
  assert.equal((await fetch(`${base}/apps`)).status, 401);
  assert.equal((await fetch(`${base}/assets/nope.js`)).status, 404);
});

test('when a user logs in with the API token, then the app list, app page, dynos, config, scaling, rollback, logs and maintenance all work live', async () => {
  await onPage('journey', async ({ page, check }) => {
    await page.goto(`${base}/`);
    await page.waitForURL(/#\/login$/);
    await shot(page, 'login');

    // Log in by keyboard: the token field is labelled, Enter submits.
    await page.getByRole('textbox', { name: 'API token' }).fill(token);
    await page.getByRole('textbox', { name: 'API token' }).press('Enter');
    const row = page.locator(`tr[data-app="${APP}"]`);
    await row.waitFor();
    assert.match(await row.innerText(), /1 up/);
    assert.match(await row.innerText(), new RegExp(`${APP}\\.localhost:${routerPort}`));
    const stored = await page.evaluate(() => ({ session: sessionStorage.getItem('slipway.session'), local: localStorage.length, cookie: document.cookie }));
    assert.match(stored.session ?? '', /slw_/, 'the token is kept in sessionStorage');
    assert.equal(stored.local, 0, 'nothing in localStorage');
    assert.equal(stored.cookie, '', 'no cookie');
    assert.doesNotMatch(page.url(), /slw_/, 'the token is never in the URL');
    await shot(page, 'apps');

    await row.getByRole('link', { name: APP, exact: true }).click();
    await page.waitForURL(new RegExp(`#/apps/${APP}$`));
    const remote = page.getByRole('textbox', { name: 'Add the remote' });
    await remote.waitFor();
    assert.equal(await remote.inputValue(), `git remote add slipway ${base}/${APP}.git`);
    await page.getByRole('link', { name: `http://${APP}.localhost:${routerPort}/` }).waitFor();
    await shot(page, 'overview');

    // Dynos: web.1 up, with figures.
    await page.getByRole('navigation', { name: 'App sections' }).getByRole('link', { name: 'Dynos' }).click();
    await page.locator('tr[data-dyno="web.1"][data-state="up"]').waitFor({ timeout: 15_000 });
    await page.locator('tr[data-dyno="web.1"] td.figure').first().filter({ hasText: /\d+(\.\d)? (KB|MB)/ }).waitFor({ timeout: 15_000 });
    await shot(page, 'dynos');

    // Config vars: add one, see the release it made; the value is hidden until revealed.
    const before = (await api<{ version: number }[]>('GET', `/apps/${APP}/releases`)).body.at(-1)!.version;
    await page.getByRole('link', { name: 'Config vars' }).click();
    await page.getByLabel('Key').fill('GREETING');
    await page.getByLabel('Value', { exact: true }).fill('hello-from-the-dashboard');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.getByRole('status').filter({ hasText: `Set GREETING: release v${before + 1}` }).waitFor();
    const cell = page.locator('tr[data-key="GREETING"] td.value');
    assert.doesNotMatch(await cell.innerText(), /hello-from-the-dashboard/, 'hidden until revealed');
    await page.getByRole('button', { name: 'Reveal GREETING' }).click();
    assert.match(await cell.innerText(), /hello-from-the-dashboard/);
    assert.equal((await api<Record<string, string>>('GET', `/apps/${APP}/config-vars`)).body.GREETING, 'hello-from-the-dashboard');
    await shot(page, 'config');

    // Scaling: web to 2 in one click, with progress until both are up.
    await page.getByRole('link', { name: 'Scaling' }).click();
    await page.getByLabel('Quantity of web').fill('2');
    await page.getByRole('button', { name: /^Apply \(web=2:standard-1x\)$/ }).click();
    await page.locator('[data-progress="web"]').waitFor();
    await page.getByText('Done: web=2').waitFor({ timeout: 60_000 });
    await shot(page, 'scaling');
    assert.equal((await api<{ type: string; quantity: number }[]>('GET', `/apps/${APP}/formation`)).body.find((f) => f.type === 'web')?.quantity, 2);
    await page.getByRole('link', { name: 'Dynos' }).click();
    // Right after a deploy the old release's web.1 may still be listed beside the new one: any up row counts.
    await page.locator('tr[data-dyno="web.1"][data-state="up"]').first().waitFor();
    await page.locator('tr[data-dyno="web.2"][data-state="up"]').first().waitFor();

    // Live without reload: a scale made elsewhere (the API, as the CLI would) shows within a few seconds.
    assert.equal((await api('PATCH', `/apps/${APP}/formation`, { updates: [{ type: 'worker', quantity: 1 }] })).status, 200);
    await page.locator('tr[data-dyno="worker.1"][data-state="up"]').waitFor({ timeout: 20_000 });

    // Restart one dyno from its row: worker.1 starts again.
    type DynoJson = { name: string; state: string; started_at: string | null };
    const workerStart = (await api<DynoJson[]>('GET', `/apps/${APP}/dynos`)).body.find((d) => d.name === 'worker.1')!.started_at;
    await page.getByRole('button', { name: 'Restart worker.1' }).click();
    await waitFor('worker.1 restarted', async () => (await api<DynoJson[]>('GET', `/apps/${APP}/dynos`)).body.some((d) => d.name === 'worker.1' && d.state === 'up' && d.started_at !== workerStart), 20_000, 200);
    await page.locator('tr[data-dyno="worker.1"][data-state="up"]').waitFor({ timeout: 10_000 });

    // Releases: roll back to the release before the config change, after a confirmation.
    await page.getByRole('link', { name: 'Releases' }).click();
    await page.locator(`tr[data-version="${before + 1}"]`).filter({ hasText: 'current' }).waitFor();
    await page.getByRole('button', { name: `Roll back to v${before}` }).click();
    const dialog = page.getByRole('dialog', { name: `Roll back to v${before}?` });
    await dialog.waitFor();
    await shot(page, 'rollback-confirm');
    await dialog.getByRole('button', { name: `Roll back to v${before}` }).click();
    await page.getByText(`Rolled back: v${before + 2} (Rollback to v${before})`).waitFor();
    await page.locator(`tr[data-version="${before + 2}"]`).filter({ hasText: 'current' }).waitFor();
    assert.equal((await api<Record<string, string>>('GET', `/apps/${APP}/config-vars`)).body.GREETING, undefined);
    await shot(page, 'releases');

    // Logs: a request through the router appears in the live tail; paused lines wait for Resume.
    await page.getByRole('link', { name: 'Logs' }).click();
    await page.getByRole('status').filter({ hasText: 'live' }).waitFor();
    const probe = `/dash-probe-${Date.now()}`;
    await waitFor('the app to answer', async () => (await requestWithHost(routerPort, `${APP}.localhost`, '/')).status === 200, 30_000, 300);
    await requestWithHost(routerPort, `${APP}.localhost`, probe);
    const log = page.getByLabel('Log lines');
    await log.filter({ hasText: `path="${probe}"` }).waitFor({ timeout: 10_000 });
    await page.getByRole('button', { name: 'Pause' }).click();
    const pausedProbe = `${probe}-paused`;
    await requestWithHost(routerPort, `${APP}.localhost`, pausedProbe);
    await page.getByRole('button', { name: /Resume \(\d+ new\)/ }).waitFor({ timeout: 10_000 });
    assert.doesNotMatch(await log.innerText(), new RegExp(pausedProbe), 'paused: the line waits');
    await page.getByRole('button', { name: /Resume/ }).click();
    await log.filter({ hasText: pausedProbe }).waitFor();
    await page.getByLabel('Source').selectOption('router');
    // The stream starts again with the filter: the probe's router line, and no dyno's lines.
    await waitFor('only router lines with source=router', async () => {
      const text = await log.innerText();
      return text.includes(`path="${probe}"`) && !/slipway\[(web|worker)\.\d\]|app\[/.test(text);
    }, 10_000, 200);
    await shot(page, 'logs');

    // Settings: maintenance on and off, as the router sees it.
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('switch', { name: /Maintenance mode/ }).check();
    await page.getByText('Maintenance mode is on').waitFor();
    await waitFor('H80 from the router', async () => (await requestWithHost(routerPort, `${APP}.localhost`)).status === 503, 5000, 100);
    await shot(page, 'settings');
    await page.getByRole('switch', { name: /Maintenance mode/ }).uncheck();
    await page.getByText('Maintenance mode is off').waitFor();
    await waitFor('served again', async () => (await requestWithHost(routerPort, `${APP}.localhost`)).status === 200, 5000, 100);

    // Builds: a push made while the tab is open appears, and its output streams into the page.
    await page.getByRole('link', { name: 'Builds' }).click();
    await page.locator('tr[data-build]').first().waitFor();
    const buildsBefore = await page.locator('tr[data-build]').count();
    await writeFile(join(src, 'NOTES'), `pushed at ${Date.now()}\n`);
    await git(['add', '-A']);
    await git(['commit', '-q', '-m', 'second']);
    const pushed = push();
    await waitFor('the new build listed', async () => (await page.locator('tr[data-build]').count()) === buildsBefore + 1, 15_000, 100);
    await page.locator('tr[data-build]').first().getByRole('link').click();
    await page.waitForURL(/#\/apps\/dash-app\/builds\/[0-9a-f-]{36}$/);
    const output = page.getByRole('region', { name: 'Build output' });
    await output.filter({ hasText: 'Nothing to build' }).waitFor({ timeout: 30_000 });
    await pushed;
    await page.locator('tr[data-build].selected').filter({ hasText: 'succeeded' }).waitFor({ timeout: 10_000 });
    await shot(page, 'builds');

    // Readable at phone width: no sideways scrolling of the page itself.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole('link', { name: 'Dynos' }).click();
    await page.locator('tr[data-dyno="web.1"]').first().waitFor();
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1), 'no horizontal overflow at 390 px');
    await shot(page, 'dynos-phone');
    check();
  });
});

test('when an action fails, then the API message shows where it happened; domains are added and removed; an app is created and destroyed by typing its name', async () => {
  await onPage('errors', async ({ page, check }) => {
    await page.goto(`${base}/`);
    await page.getByRole('textbox', { name: 'API token' }).fill(token);
    await page.getByRole('button', { name: 'Use token' }).click();
    await page.getByRole('heading', { name: 'Apps' }).waitFor();

    // A bad name: the API's 422 and its message, beside the form.
    await page.getByLabel(/New app name/).fill('Bad_Name');
    await page.getByRole('button', { name: 'Create app' }).click();
    const alert = page.getByRole('alert').filter({ hasText: 'Could not create the app' });
    await alert.waitFor();
    assert.match(await alert.innerText(), /Bad_Name|name/i);
    assert.match(await alert.innerText(), /422/);

    await page.getByLabel(/New app name/).fill('dash-temp');
    await page.getByRole('button', { name: 'Create app' }).click();
    await page.waitForURL(/#\/apps\/dash-temp$/);
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('textbox', { name: 'Add a domain' }).fill('www.dash.example');
    await page.getByRole('button', { name: 'Add domain' }).click();
    await page.locator('tr[data-domain="www.dash.example"]').waitFor();
    await waitFor('the domain routed', async () => (await requestWithHost(routerPort, 'www.dash.example')).status !== 404, 5000, 100);
    // Another app's default name cannot be claimed: the API's message, shown.
    await page.getByRole('textbox', { name: 'Add a domain' }).fill(`${APP}.localhost`);
    await page.getByRole('button', { name: 'Add domain' }).click();
    await page.getByRole('alert').filter({ hasText: 'Could not add the domain' }).waitFor();
    await page.getByRole('button', { name: 'Remove www.dash.example' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Remove domain' }).click();
    await page.locator('tr[data-domain="www.dash.example"]').waitFor({ state: 'detached' });

    await page.getByRole('button', { name: 'Destroy dash-temp…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Destroy dash-temp?' });
    const confirm = dialog.getByRole('button', { name: 'Destroy app' });
    assert.equal(await confirm.isDisabled(), true, 'disabled until the name is typed');
    await dialog.getByLabel(/Type dash-temp to confirm/).fill('dash-tem');
    assert.equal(await confirm.isDisabled(), true);
    await dialog.getByLabel(/Type dash-temp to confirm/).fill('dash-temp');
    await shot(page, 'destroy-confirm');
    await confirm.click();
    await page.waitForURL(/#\/$/);
    await page.locator(`tr[data-app="${APP}"]`).waitFor();
    assert.equal(await page.locator('tr[data-app="dash-temp"]').count(), 0);
    assert.equal((await api('GET', '/apps/dash-temp')).status, 404);
    // The 422, 409 and 422 the test provoked are the only console errors (Chromium logs failed responses).
    check([/Failed to load resource: the server responded with a status of (422|409)/]);
  });
});

test('when a certificate is pasted in Settings, then HTTPS shows it for its domain with issuer and expiry, a wrong key is refused, HTTPS only redirects, and removing it brings the platform certificate back', async () => {
  const dir = await mkdtemp(join(dataDir, 'certs-'));
  const root = await makeCa(dir);
  const leaf = await issue(dir, 'dash', root, { names: ['secure.dash.example'] });
  const other = await issue(dir, 'other', root, { names: ['secure.dash.example'] });
  assert.equal((await api('POST', `/apps/${APP}/domains`, { hostname: 'secure.dash.example' })).status, 201);
  await onPage('https', async ({ page, check }) => {
    await page.goto(`${base}/`);
    await page.getByRole('textbox', { name: 'API token' }).fill(token);
    await page.getByRole('button', { name: 'Use token' }).click();
    await page.locator(`tr[data-app="${APP}"]`).getByRole('link').first().click();
    await page.getByRole('link', { name: 'Settings' }).click();
    const row = page.locator('tr[data-cert-domain="secure.dash.example"]');
    await row.filter({ hasText: 'None (platform certificate)' }).waitFor();

    // A key of another certificate: the API's 422, shown beside the form; nothing kept.
    await page.getByLabel(/Certificate chain/).fill(leaf.cert);
    await page.getByLabel(/Private key/).fill(other.key);
    await page.getByRole('button', { name: 'Add certificate' }).click();
    const refused = page.getByRole('alert').filter({ hasText: 'Could not add the certificate' });
    await refused.waitFor();
    assert.match(await refused.innerText(), /does not match the certificate/);

    await page.getByLabel(/Private key/).fill(leaf.key);
    await page.getByRole('button', { name: 'Add certificate' }).click();
    await row.filter({ hasText: 'Uploaded' }).waitFor();
    assert.match(await row.innerText(), /Slipway Test test-root/, 'its issuer');
    assert.equal(await page.getByLabel(/Private key/).inputValue(), '', 'the key is not kept on the page');
    await shot(page, 'https');

    const httpsOnly = page.getByRole('switch', { name: /HTTPS only/ });
    await httpsOnly.check();
    await page.getByText('HTTPS only on').waitFor();
    await waitFor('plain HTTP redirected', async () => (await requestWithHost(routerPort, `${APP}.localhost`)).status === 301, 10_000, 200);
    await page.getByRole('switch', { name: /HTTPS only/ }).uncheck();
    await page.getByText('HTTPS only off').waitFor();

    const name = (await api<{ name: string }[]>('GET', `/apps/${APP}/sni-endpoints`)).body[0].name;
    await page.getByRole('button', { name: `Remove certificate ${name}` }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Remove certificate' }).click();
    await row.filter({ hasText: 'None (platform certificate)' }).waitFor();
    check([/Failed to load resource: the server responded with a status of 422/]);
  });
});

test('when a database is created in Resources, then it shows its plan, state and config var, a backup is captured and listed, and destroying it takes the app name', async () => {
  await onPage('resources', async ({ page, check }) => {
    await page.goto(`${base}/`);
    await page.getByRole('textbox', { name: 'API token' }).fill(token);
    await page.getByRole('button', { name: 'Use token' }).click();
    await page.locator(`tr[data-app="${APP}"]`).getByRole('link').first().click();
    await page.getByRole('link', { name: 'Resources' }).click();
    await page.getByText('No add-ons.').waitFor();
    await page.getByLabel('Plan').selectOption('postgresql:essential-0');
    await page.getByRole('button', { name: 'Create add-on' }).click();
    const row = page.locator('tr[data-addon^="postgresql-"]');
    await row.filter({ hasText: 'DATABASE_URL' }).waitFor();
    assert.match(await row.innerText(), /essential-0[\s\S]*provisioned/);
    assert.ok((await api<Record<string, string>>('GET', `/apps/${APP}/config-vars`)).body.DATABASE_URL, 'the config var is set');

    await page.getByRole('button', { name: /Capture a backup of postgresql-/ }).click();
    await page.locator('tr[data-backup="b001"]').filter({ hasText: 'succeeded' }).waitFor({ timeout: 30_000 });
    await shot(page, 'resources');

    const name = (await row.getAttribute('data-addon'))!;
    await page.getByRole('button', { name: `Destroy ${name}` }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('textbox').fill(APP);
    await dialog.getByRole('button', { name: 'Destroy' }).click();
    await page.getByText('No add-ons.').waitFor();
    assert.equal((await api<Record<string, string>>('GET', `/apps/${APP}/config-vars`)).body.DATABASE_URL, undefined);
    check();
  });
});

test('when a user logs in with email and password and logs out, then the token made for the tab is revoked', async () => {
  assert.equal((await api('POST', '/users', { email: 'ana@example.com', password: 'ana-password-1' })).status, 201);
  await onPage('password', async ({ page, check }) => {
    await page.goto(`${base}/#/apps/${APP}`);
    await page.waitForURL(/#\/login$/);
    await page.getByRole('textbox', { name: 'Email' }).fill('ana@example.com');
    await page.getByRole('textbox', { name: 'Password' }).fill('ana-password-1');
    await page.getByRole('button', { name: 'Log in' }).click();
    // Back to the page asked for; ana is no collaborator of the app, so the API's 404 shows.
    await page.getByRole('alert').filter({ hasText: `Could not load ${APP}` }).waitFor();
    await page.getByRole('link', { name: 'Back to the apps' }).click();
    await page.getByText('No apps yet').waitFor();
    await page.getByText('ana@example.com').waitFor();
    const session = JSON.parse((await page.evaluate(() => sessionStorage.getItem('slipway.session'))) ?? '{}') as { token: string };
    assert.equal((await api('GET', '/account', undefined, session.token)).status, 200);
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByText('You are logged out.').waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('slipway.session')), null);
    await waitFor('the token revoked', async () => (await api('GET', '/account', undefined, session.token)).status === 401, 5000, 100);
    check([/Failed to load resource: the server responded with a status of 404/]);
  });
});

test('when a user opens the account page, then it lists its tokens with this session marked, and revoking one ends that token', async () => {
  assert.equal((await api('POST', '/users', { email: 'bo@example.com', password: 'bo-password-1' })).status, 201);
  const basic = 'Basic ' + Buffer.from('bo@example.com:bo-password-1').toString('base64');
  const laptop = await fetch(`${base}/oauth/authorizations`, { method: 'POST', headers: { authorization: basic, 'content-type': 'application/json' }, body: JSON.stringify({ description: 'bo laptop' }) });
  const laptopToken = ((await laptop.json()) as { access_token: { token: string } }).access_token.token;
  await onPage('account', async ({ page, check }) => {
    await page.goto(`${base}/#/login`);
    await page.getByRole('textbox', { name: 'Email' }).fill('bo@example.com');
    await page.getByRole('textbox', { name: 'Password' }).fill('bo-password-1');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByText('No apps yet').waitFor();
    await page.getByRole('link', { name: 'bo@example.com' }).click();
    await page.getByRole('heading', { name: 'API tokens' }).waitFor();
    const rows = page.locator('table.tokens tbody tr');
    await waitFor('two tokens listed', async () => (await rows.count()) === 2, 5000, 100);
    const session = page.locator('tr', { hasText: 'this session' });
    await session.getByText(/Slipway dashboard/).waitFor();
    assert.match(await session.innerText(), /in 30 days/);
    await shot(page, 'account');
    await page.getByRole('button', { name: 'Revoke bo laptop' }).click();
    await page.getByRole('button', { name: 'Revoke token' }).click();
    await waitFor('one token left', async () => (await rows.count()) === 1, 5000, 100);
    assert.equal((await api('GET', '/account', undefined, laptopToken)).status, 401, 'the revoked token no longer works');
    const s = JSON.parse((await page.evaluate(() => sessionStorage.getItem('slipway.session'))) ?? '{}') as { token: string };
    assert.equal((await api('GET', '/account', undefined, s.token)).status, 200, 'this session goes on');
    check();
  });
});
