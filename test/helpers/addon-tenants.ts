/** A tenant of the add-on PostgreSQL for the fault tests: an app with a database, and its own credentials. */
import assert from 'node:assert/strict';
import pg from 'pg';
import type { TestPlatform } from './platform.js';

export interface Tenant { app: string; addonId: string; url: string; role: string }

export async function makeTenant(t: TestPlatform, app: string): Promise<Tenant> {
  await t.createApp(app);
  const made = await t.api('POST', `/apps/${app}/addons`, { plan: 'postgresql' });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const given = new URL(((await t.api('GET', `/apps/${app}/config-vars`)).body as Record<string, string>).DATABASE_URL);
  // The tenant's own credentials, over the add-on server's socket: the host is not on the dyno network, where pg_hba
  // lets tenants in by TCP (its dynos connect there with the same role and password).
  const url = t.platform.services.addons.servers.postgres!.tenantUrl(given.username, given.password);
  return { app, addonId: made.body.id, url, role: given.username };
}

export async function connect(url: string, database?: string): Promise<pg.Client> {
  const u = new URL(url);
  if (database) u.pathname = `/${database}`;
  const c = new pg.Client({ connectionString: u.toString(), connectionTimeoutMillis: 5000 });
  await c.connect();
  return c;
}

export async function asTenant<T>(x: Tenant, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = await connect(x.url);
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}
