/**
 * Automatic certificates (certs:auto) through the production ACME client against a TEST STAND-IN ACME server that
 * the test runs on loopback (test/helpers/acme-standin.ts): no public ACME server is reachable from this machine.
 * Names resolve through a TEST STAND-IN DNS server on loopback (test/helpers/dns-server.ts, SLIPWAY_DNS_SERVERS):
 * an app's domains point at its DNS target and carry its TXT proof unless a test says otherwise.
 * The stand-in validates each HTTP-01 challenge by asking the router for it with the domain's Host, as a CA does,
 * and signs with a test CA the clients trust. Issue, serve by SNI, renew when under 30 days are left, fail with the
 * CA's reason and retry with backoff, refresh.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { makeCa, type TestCert } from '../helpers/certs.js';
import { startAcmeStandIn, type AcmeStandIn } from '../helpers/acme-standin.js';
import { waitFor } from '../helpers/procs.js';
import { startTestDns, type TestDns } from '../helpers/dns-server.js';
import { challengeRecord, challengeValue } from '../../server/domains/ownership.js';
import { cleanEnv, slipway } from '../helpers/slipway.js';

let t: TestPlatform;
let ca: AcmeStandIn;
let dns: TestDns;
let root: TestCert;
let env: Record<string, string>;

/** The certificate served for servername on the router's TLS port: its CN, issuer, days left and whether it verifies. */
function served(servername: string): Promise<{ cn: string; issuer: string; daysLeft: number; authorized: boolean; serial: string }> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port: t.routerTlsPort, servername, ca: [root.cert], rejectUnauthorized: false }, () => {
      const c = s.getPeerCertificate();
      resolve({ cn: String(c.subject?.CN), issuer: String(c.issuer?.CN), daysLeft: (new Date(c.valid_to).getTime() - Date.now()) / 86_400_000, authorized: s.authorized, serial: c.serialNumber });
      s.end();
    });
    s.on('error', reject);
  });
}

const domain = async (app: string, host: string) =>
  ((await t.api('GET', `/apps/${app}/domains/${host}`)).body) as { acm_status: string | null; acm_status_reason: string | null; sni_endpoint: { name: string } | null };

/** The app's DNS target resolves to the router; each name points at it and holds the app's TXT proof, as asked. */
function publish(app: { id: string; name: string }, hosts: string[], o: { points?: boolean; proved?: boolean } = {}) {
  dns.a.set(`${app.name}.${t.platform.config.baseDomain}`, ['127.0.0.1']);
  for (const h of hosts) {
    if (o.points !== false) dns.a.set(h, ['127.0.0.1']);
    if (o.proved !== false) dns.txt.set(challengeRecord(h), [challengeValue(app.id, h)]);
  }
}

async function appWithDomains(app: string, hosts: string[], o: { points?: boolean; proved?: boolean } = {}) {
  assert.equal((await t.api('POST', '/apps', { name: app })).status, 201);
  const push = await t.git(await t.checkout('procfile-shell', app), ['push', 'slipway', 'main']);
  assert.equal(push.code, 0, push.out);
  for (const h of hosts) assert.equal((await t.api('POST', `/apps/${app}/domains`, { hostname: h })).status, 201);
  publish((await t.api('GET', `/apps/${app}`)).body, hosts, o);
}

before(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'slipway-acme-'));
  root = await makeCa(dir);
  let routerPort = 0;
  ca = await startAcmeStandIn({ ca: root, dir, routerPort: () => routerPort });
  dns = await startTestDns();
  t = await startTestPlatform({
    SLIPWAY_ACME_DIRECTORY: ca.directoryUrl, SLIPWAY_ACME_INTERVAL: '0.5', SLIPWAY_ACME_RETRY: '0.5', SLIPWAY_ACME_EMAIL: 'ops@example.com', SLIPWAY_DNS_SERVERS: dns.address,
  }, { dynos: true });
  routerPort = t.routerPort!;
  env = cleanEnv({ SLIPWAY_API_URL: t.url, SLIPWAY_API_KEY: t.adminToken, HOME: t.home });
});
after(async () => {
  await t?.close();
  await ca?.close();
  await dns?.close();
});

test('when certs:auto:enable is run, then a certificate is issued through the HTTP-01 challenge the router answers, served by SNI, and shown by certs:auto', async () => {
  await appWithDomains('auto', ['www.auto.example']);
  assert.match((await slipway(['certs:auto', '-a', 'auto'], env)).stdout, /Automatic Certificate Management is disabled on auto/);
  const on = await slipway(['certs:auto:enable', '-a', 'auto'], env);
  assert.equal(on.code, 0, on.stderr);
  await waitFor('the certificate issued', async () => (await domain('auto', 'www.auto.example')).acm_status === 'cert issued', 30_000, 200);
  let last: unknown;
  const { createPgRouteSource } = await import('../../server/plane/route-source.js');
  const appId = (await t.api('GET', '/apps/auto')).body.id;
  const loaded = await createPgRouteSource(t.platform, 'debug', (ids) => t.platform.services.sniEndpoints.served(ids)).loadApp(appId).catch((e: Error) => e.message);
  const debug = JSON.stringify([typeof loaded === 'string' ? loaded : loaded?.route.certificates?.map((c) => [c.id, c.serves, c.names]), (await t.api('GET', '/apps/auto/sni-endpoints')).body.map((e: { name: string; domains: string[] }) => [e.name, e.domains]), await domain('auto', 'www.auto.example')]);
  const cert = await waitFor(() => `it served (last: ${JSON.stringify(last)}; ${debug})`, async () => {
    const s = await served('www.auto.example');
    last = s;
    return s.cn === 'www.auto.example' ? s : undefined;
  }, 10_000, 200);
  assert.equal(cert.authorized, true, 'issued by the stand-in\'s CA, verified by the client');
  assert.ok(cert.daysLeft > 80);
  const order = ca.orders.find((o) => o.hosts.includes('www.auto.example'))!;
  assert.equal(order.status, 'valid', 'the CA validated the challenge through the router');
  const endpoints = (await t.api('GET', '/apps/auto/sni-endpoints')).body;
  assert.equal(endpoints.length, 1);
  assert.equal(endpoints[0].ssl_cert.acm, true);
  const status = await slipway(['certs:auto', '-a', 'auto'], env);
  assert.match(status.stdout, /Automatic Certificate Management is enabled on auto/);
  assert.match(status.stdout, /www\.auto\.example\s+cert issued/);
  // Nothing more is ordered while the certificate has long to live.
  await new Promise((r) => setTimeout(r, 2000));
  assert.equal(ca.orders.filter((o) => o.hosts.includes('www.auto.example')).length, 1);
  assert.equal((await t.platform.db.query('SELECT count(*)::int AS n FROM acme_challenges')).rows[0].n, 0, 'challenges removed once answered');
});

test('when an automatic certificate has under 30 days left, then it is renewed and the new one served', async () => {
  ca.days = 10;
  await appWithDomains('renews', ['www.renews.example']);
  assert.equal((await t.api('POST', '/apps/renews/acm', {})).status, 200);
  const first = await waitFor('a short-lived certificate', async () => {
    const s = await served('www.renews.example');
    return s.cn === 'www.renews.example' ? s : undefined;
  }, 30_000, 100);
  ca.days = 90;
  const renewed = await waitFor('the renewal served', async () => {
    const s = await served('www.renews.example');
    return s.serial !== first.serial && s.daysLeft > 80 ? s : undefined;
  }, 30_000, 200);
  assert.equal(renewed.authorized, true);
  assert.ok(ca.orders.filter((o) => o.hosts.includes('www.renews.example')).length >= 2);
  assert.equal((await t.api('GET', '/apps/renews/sni-endpoints')).body.length, 1, 'the renewal replaced its endpoint');
});

test('when the CA cannot validate a domain, then its status says failing with the CA\'s reason, it is retried with backoff, and certs:auto:refresh issues it once fixed', async () => {
  ca.failWith = 'connection refused by the test stand-in';
  await appWithDomains('fails', ['www.fails.example']);
  assert.equal((await slipway(['certs:auto:enable', '-a', 'fails'], env)).code, 0);
  const failing = await waitFor('failing', async () => {
    const d = await domain('fails', 'www.fails.example');
    return d.acm_status === 'failing' ? d : undefined;
  }, 30_000, 200);
  assert.match(failing.acm_status_reason!, /connection refused by the test stand-in/);
  await waitFor('a second attempt after the backoff', async () =>
    (await t.platform.db.query<{ acm_failures: number }>(`SELECT acm_failures FROM domains WHERE hostname = 'www.fails.example'`)).rows[0].acm_failures >= 2, 30_000, 200);
  const shown = await slipway(['certs:auto', '-a', 'fails'], env);
  assert.match(shown.stdout, /www\.fails\.example\s+failing\s+.*connection refused by the test stand-in/);
  ca.failWith = undefined;
  assert.equal((await slipway(['certs:auto:refresh', '-a', 'fails'], env)).code, 0);
  await waitFor('issued after the refresh', async () => (await domain('fails', 'www.fails.example')).acm_status === 'cert issued', 30_000, 200);
  const off = await slipway(['certs:auto:disable', '-a', 'fails'], env);
  assert.equal(off.code, 0, off.stderr);
  assert.deepEqual((await t.api('GET', '/apps/fails/sni-endpoints')).body, [], 'its automatic certificates go with it');
  await waitFor('the platform certificate again', async () => (await served('www.fails.example')).cn === 'slipway', 10_000, 200);
});

test('when one app has a thousand domains whose certificates fail, then another app\'s certificate is issued in its usual time', async () => {
  assert.equal((await t.api('POST', '/apps', { name: 'noisy' })).status, 201);
  const noisy = (await t.api('GET', '/apps/noisy')).body.id as string;
  await t.platform.db.query(`INSERT INTO domains (app_id, hostname, kind) SELECT $1, 'n' || g || '.noisy.example', 'custom' FROM generate_series(1, 1000) g`, [noisy]);
  publish({ id: noisy, name: 'noisy' }, Array.from({ length: 1000 }, (_, i) => `n${i + 1}.noisy.example`)); // each reaches the CA, and fails there
  ca.failFor = (host) => host.endsWith('.noisy.example');
  assert.equal((await t.api('POST', '/apps/noisy/acm', {})).status, 200);
  await waitFor('the noisy app\'s first failures', async () =>
    (await t.platform.db.query(`SELECT count(*)::int AS n FROM domains WHERE app_id = $1 AND acm_status = 'failing'`, [noisy])).rows[0].n >= 2, 30_000, 100);
  await appWithDomains('quiet', ['www.quiet.example']);
  const started = Date.now();
  assert.equal((await t.api('POST', '/apps/quiet/acm', {})).status, 200);
  await waitFor('the quiet app\'s certificate', async () => (await domain('quiet', 'www.quiet.example')).acm_status === 'cert issued', 30_000, 200);
  const tried = (await t.platform.db.query(`SELECT count(*)::int AS n FROM domains WHERE app_id = $1 AND acm_failures > 0`, [noisy])).rows[0].n;
  assert.ok(tried < 100, `issued in ${Date.now() - started} ms while the noisy app had ${tried} of its 1000 names tried`);
  const sent = ca.orders.filter((o) => o.hosts.some((h) => h.endsWith('.noisy.example'))).length;
  assert.ok(sent <= 20, `the noisy app sent the CA ${sent} orders, at most its 20 an hour`);
  ca.failFor = undefined;
  assert.equal((await t.api('DELETE', '/apps/noisy/acm')).status, 200);
});

test('when a domain does not resolve to the platform, or its TXT proof is missing, then nothing is asked of the CA and certs:auto says why', async () => {
  await appWithDomains('unready', ['www.unready.example'], { points: false, proved: false });
  const app = (await t.api('GET', '/apps/unready')).body as { id: string; name: string };
  assert.equal((await slipway(['certs:auto:enable', '-a', 'unready'], env)).code, 0);
  const ordersFor = () => ca.orders.filter((o) => o.hosts.includes('www.unready.example')).length;
  const reason = async () => (await domain('unready', 'www.unready.example')).acm_status_reason ?? '';
  await waitFor('failing: it does not resolve', async () => /www\.unready\.example does not resolve yet: point it at unready\./.test(await reason()), 30_000, 200);
  assert.match((await slipway(['certs:auto', '-a', 'unready'], env)).stdout, /www\.unready\.example\s+failing\s+.*does not resolve yet/);
  dns.a.set('www.unready.example', ['192.0.2.7']); // somewhere else
  assert.equal((await slipway(['certs:auto:refresh', '-a', 'unready'], env)).code, 0);
  await waitFor('failing: it points elsewhere', async () => /resolves to 192\.0\.2\.7, not to the platform/.test(await reason()), 30_000, 200);
  publish(app, ['www.unready.example'], { proved: false });
  assert.equal((await slipway(['certs:auto:refresh', '-a', 'unready'], env)).code, 0);
  await waitFor('failing: no proof', async () => /Prove that you control www\.unready\.example: add a DNS TXT record _slipway-challenge\.www\.unready\.example/.test(await reason()), 30_000, 200);
  assert.equal(ordersFor(), 0, 'the CA was asked nothing');
  publish(app, ['www.unready.example']);
  assert.equal((await slipway(['certs:auto:refresh', '-a', 'unready'], env)).code, 0);
  await waitFor('issued once it points here and is proved', async () => (await domain('unready', 'www.unready.example')).acm_status === 'cert issued', 30_000, 200);
  assert.equal(ordersFor(), 1);
});
