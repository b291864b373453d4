/**
 * Add-ons of apps: create one (a database and role, or a Redis, on an add-on server), attach it to more apps,
 * detach, rotate its credentials, destroy it. Each attachment sets one config var on its app (DATABASE ->
 * DATABASE_URL), which makes a release: the dynos are replaced without downtime and reach the add-on server from
 * then on (the network rules follow the attachments). The password is kept sealed; only the config var shows it.
 */
import { withTransaction, pgCode, type Db } from '../db/pool.js';
import { AppError, conflict, forbidden, invalidParams, notFound, quotaExceeded, unavailable } from '../errors.js';
import { ADDON_NAME, ATTACHMENT_NAME, randomAddonName } from '../names.js';
import type { App, AppService } from '../apps/service.js';
import type { ConfigVarService } from '../config-vars/service.js';
import type { KeyBox } from '../services/key-box.js';
import type { User } from '../accounts/users.js';
import { DEFAULT_PLAN, isFreePlan, parsePlan, planOf, type AddonPlan, type PostgresPlan } from './plans.js';
import { newPassword, newResourceName } from './postgres-server.js';
import type { AddonServers } from './servers.js';
import { pgInfo, type PgInfo } from './pg-info.js';
import { serverKey } from './storage-watch.js';
import type { Addon, AddonStore, Attachment } from './store.js';

const COLORS = ['AMBER', 'AQUA', 'BLUE', 'BRONZE', 'BROWN', 'COBALT', 'COPPER', 'CRIMSON', 'CYAN', 'GOLD', 'GRAY', 'GREEN', 'IVORY', 'JADE',
  'LIME', 'MAROON', 'MAUVE', 'NAVY', 'OLIVE', 'ONYX', 'ORANGE', 'PINK', 'PURPLE', 'RED', 'ROSE', 'SILVER', 'TEAL', 'WHITE', 'YELLOW'];
const NOT_FOUND = "Couldn't find that add-on.";
const REDIS_WAIT_MS = 20_000;

export interface CreateAddonInput {
  plan?: unknown;
  name?: unknown;
  attachment?: { name?: unknown } | null;
}

/** The config var an attachment sets. */
export const configVarOf = (attachmentName: string) => `${attachmentName}_URL`;

export function createAddonService(deps: {
  db: Db; store: AddonStore; servers: AddonServers; keys: KeyBox; configVars: ConfigVarService; apps: () => AppService;
  /** Add-ons an app may make (SLIPWAY_MAX_ADDONS_PER_APP). */
  maxPerApp: number;
  /** Add-ons the apps of one owner may make together (SLIPWAY_MAX_ADDONS_PER_USER); an administrator's: no limit. */
  maxPerUser: number;
  /** The data an add-on leaves besides its rows (backups). */
  removeFiles?: (addon: Addon) => Promise<void>;
}) {
  const { db, store, servers, keys, configVars } = deps;

  async function urlOf(a: Addon): Promise<string> {
    const password = await keys.open(a.password_sealed);
    return a.service === 'postgresql'
      ? `postgres://${a.resource}:${password}@${a.host}:${a.port}/${a.resource}`
      : `redis://:${password}@${a.host}:${a.port}`;
  }

  async function attachmentNameFor(app: App, a: { service: Addon['service'] }, wanted: unknown): Promise<string> {
    const taken = new Set(await store.attachmentNamesOfApp(app.id));
    const config = await configVars.get(app);
    const free = (n: string) => !taken.has(n) && !(configVarOf(n) in config);
    if (wanted !== undefined && wanted !== null && wanted !== '') {
      const name = String(wanted).toUpperCase().replace(/_URL$/, '');
      if (!ATTACHMENT_NAME.test(name)) throw invalidParams(`Invalid attachment name "${String(wanted).slice(0, 60)}": use letters, digits and underscores, starting with a letter.`);
      if (!free(name)) throw conflict(`${configVarOf(name)} is already set on ${app.name}: choose another attachment name (--as), or unset it first.`);
      return name;
    }
    const first = a.service === 'postgresql' ? 'DATABASE' : 'REDIS';
    if (free(first)) return first;
    const prefix = a.service === 'postgresql' ? 'HEROKU_POSTGRESQL' : 'HEROKU_REDIS';
    const name = COLORS.map((c) => `${prefix}_${c}`).find(free);
    if (!name) throw conflict(`${app.name} has no attachment name left for another ${a.service} add-on.`);
    return name;
  }

  /** Every attached app gets the add-on's URL (again): after a create, an attach or a rotation. */
  async function setConfig(a: Addon, attachments: Attachment[], userId: string): Promise<void> {
    const url = await urlOf(a);
    for (const t of attachments) {
      const app = await deps.apps().byId(t.app_id);
      if (app) await configVars.update(app, { [configVarOf(t.name)]: url }, userId);
    }
  }

  async function provision(plan: AddonPlan, resource: string, password: string): Promise<{ host: string; port: number; state: Addon['state'] }> {
    if (plan.service === 'postgresql') {
      if (!servers.postgres) throw unavailable('This platform has no PostgreSQL add-on server (SLIPWAY_ADDON_POSTGRES is off).');
      await servers.postgres.create(resource, password, plan);
      return { host: servers.postgres.host, port: servers.postgres.port, state: 'provisioned' };
    }
    if (!servers.redis) throw unavailable('This platform runs no Redis add-ons (SLIPWAY_ADDON_REDIS is off).');
    const used = await store.redisPortsInUse(servers.redis.host);
    const [from, to] = servers.redis.ports;
    for (let p = from; p <= to; p++) if (!used.has(p)) return { host: servers.redis.host, port: p, state: 'provisioning' };
    throw new AppError('insufficient_capacity', `Every Redis add-on port (${from}-${to}, SLIPWAY_ADDON_REDIS_PORTS) is in use.`, 507);
  }

  async function dropResource(a: Addon): Promise<void> {
    // A Redis add-on's server is stopped and its directory removed by the add-on host once its row is gone.
    if (a.service === 'postgresql') await servers.postgres?.drop(a.resource);
    await deps.removeFiles?.(a);
  }

  async function waitProvisioned(a: Addon): Promise<Addon> {
    const until = Date.now() + REDIS_WAIT_MS;
    let current: Addon | undefined = a;
    while (current && current.state === 'provisioning' && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 200));
      current = await store.get(a.id);
    }
    return current ?? a;
  }

  const service = {
    urlOf,
    servers,

    async create(user: User, app: App, input: CreateAddonInput): Promise<Addon> {
      const plan = parsePlan((input.plan as { name?: unknown } | undefined)?.name ?? input.plan);
      if (!isFreePlan(plan) && !user.is_admin) {
        throw forbidden(`${plan.service}:${plan.name} is above the free tier (${DEFAULT_PLAN[plan.service]}): an administrator makes it for ${app.name}.`);
      }
      if (input.name !== undefined && input.name !== null && (typeof input.name !== 'string' || !ADDON_NAME.test(input.name))) {
        throw invalidParams('An add-on name is 3 to 61 lowercase letters, digits and dashes, starting with a letter.');
      }
      const made = (await store.listBilledTo(app.id)).length;
      if (made >= deps.maxPerApp) throw quotaExceeded(`${app.name} has ${made} add-ons, the most an app may make (SLIPWAY_MAX_ADDONS_PER_APP); destroy one first.`);
      const owned = await store.countOfOwner(app.owner_id);
      if (!owned.admin && owned.count >= deps.maxPerUser) {
        throw quotaExceeded(`The apps of ${app.owner_email} have ${owned.count} add-ons, the most one owner's apps may have (SLIPWAY_MAX_ADDONS_PER_USER); destroy one first.`);
      }
      const attachmentName = await attachmentNameFor(app, plan, input.attachment?.name);
      const resource = newResourceName();
      const password = newPassword();
      for (let attempt = 1; ; attempt++) {
        const where = await provision(plan, resource, password);
        let id: string;
        try {
          id = await withTransaction(db, async (tx) => {
            const addonId = await store.insert(tx, {
              name: (input.name as string | undefined) ?? randomAddonName(plan.service), service: plan.service, plan: plan.name, app_id: app.id,
              state: where.state, host: where.host, port: where.port, resource, password_sealed: await keys.seal(password),
            });
            await store.attach(tx, addonId, app.id, attachmentName);
            return addonId;
          });
        } catch (e) {
          if (plan.service === 'postgresql') await servers.postgres!.drop(resource).catch(() => undefined);
          if (pgCode(e) !== '23505') throw e;
          if (input.name !== undefined) throw conflict(`The name ${String(input.name)} is already taken by another add-on.`);
          if (attempt >= 5) throw e;
          continue; // a name or a Redis port taken meanwhile: again
        }
        let addon = (await store.get(id))!;
        try {
          await setConfig(addon, await store.attachmentsOfAddon(id), user.id);
        } catch (e) {
          await withTransaction(db, (tx) => store.remove(tx, id));
          await dropResource(addon).catch(() => undefined);
          throw e;
        }
        if (addon.state === 'provisioning') addon = await waitProvisioned(addon);
        return addon;
      }
    },

    async listForApp(app: App): Promise<Addon[]> {
      return store.listForApp(app.id);
    },

    /** The add-on named or identified, if the user may see it (through its billing app or an app it is attached to). */
    async get(user: User, ident: string): Promise<Addon> {
      if (typeof ident !== 'string' || !ident) throw notFound(NOT_FOUND);
      const a = await store.get(ident);
      if (!a || !(await service.canSee(user, a))) throw notFound(NOT_FOUND);
      return a;
    },

    /** A PostgreSQL add-on the user may see (what the pg commands act on); another kind is a 422. */
    async database(user: User, ident: string): Promise<Addon> {
      const a = await service.get(user, ident);
      if (a.service !== 'postgresql') throw invalidParams(`${a.name} is not a PostgreSQL database.`);
      return a;
    },

    /** What pg:info shows, with the add-on server's disk as the add-on host last saw it. */
    async pgInfo(a: Addon): Promise<PgInfo> {
      return pgInfo(a, servers.postgres, await keys.open(a.password_sealed), await store.serverDisk(serverKey(a)));
    },

    async getForApp(app: App, ident: string): Promise<Addon> {
      const a = await store.getForApp(app.id, ident);
      if (!a) throw notFound(NOT_FOUND);
      return a;
    },

    async canSee(user: User, a: Addon): Promise<boolean> {
      const apps = deps.apps();
      const ids = [a.app_id, ...(await store.attachmentsOfAddon(a.id)).map((t) => t.app_id)];
      for (const id of new Set(ids)) if (await apps.get(user, id).then(() => true, () => false)) return true;
      return false;
    },

    /** Its billing app, if the user has access to it (what destroying, rotating and attaching ask for). */
    async billingApp(user: User, a: Addon): Promise<App> {
      return deps.apps().get(user, a.app_id).catch(() => {
        throw forbidden(`Only those with access to ${a.app_name}, the app ${a.name} belongs to, can change it.`);
      });
    },

    attachments: (a: Addon) => store.attachmentsOfAddon(a.id),
    attachmentsOfApp: (app: App) => store.attachmentsOfApp(app.id),

    async attachment(user: User, ident: string, app?: App): Promise<Attachment> {
      const t = app ? (await store.attachmentsOfApp(app.id)).find((x) => x.id === ident || x.name === ident.toUpperCase()) : await store.attachment(ident);
      if (!t || !(await deps.apps().get(user, t.app_id).then(() => true, () => false))) throw notFound("Couldn't find that add-on attachment.");
      return t;
    },

    async attach(user: User, a: Addon, target: App, wanted?: unknown): Promise<Attachment> {
      await service.billingApp(user, a);
      if ((await store.attachmentsOfAddon(a.id)).some((t) => t.app_id === target.id)) throw conflict(`${a.name} is already attached to ${target.name}.`);
      const name = await attachmentNameFor(target, a, wanted);
      const id = await withTransaction(db, (tx) => store.attach(tx, a.id, target.id, name));
      const t = (await store.attachment(id))!;
      await setConfig(a, [t], user.id);
      return t;
    },

    async detach(user: User, t: Attachment): Promise<Attachment> {
      const all = await store.attachmentsOfAddon(t.addon_id);
      if (all.length === 1) {
        throw invalidParams(`${t.name} is the last attachment of ${t.addon_name}: destroy the add-on instead (addons:destroy).`);
      }
      await withTransaction(db, (tx) => store.detach(tx, t.id));
      const app = await deps.apps().byId(t.app_id);
      if (app) await configVars.update(app, { [configVarOf(t.name)]: null }, user.id);
      return t;
    },

    /** New credentials: the old password stops working at once; every attached app gets the new URL. */
    async rotate(user: User, a: Addon): Promise<Addon> {
      await service.billingApp(user, a);
      const password = newPassword();
      await servers.postgres!.setPassword(a.resource, password);
      await store.setPassword(a.id, await keys.seal(password));
      const updated = (await store.get(a.id))!;
      await setConfig(updated, await store.attachmentsOfAddon(a.id), user.id);
      return updated;
    },

    async destroy(user: User, a: Addon): Promise<Addon> {
      await service.billingApp(user, a);
      const attachments = await store.attachmentsOfAddon(a.id);
      await withTransaction(db, (tx) => store.remove(tx, a.id));
      for (const t of attachments) {
        const app = await deps.apps().byId(t.app_id);
        if (app) await configVars.update(app, { [configVarOf(t.name)]: null }, user.id);
      }
      await dropResource(a);
      return a;
    },

    /**
     * An app is being destroyed: the add-ons only it uses go with their data; one shared with another app moves to
     * that app (which keeps its attachment and config var).
     */
    async releaseApp(appId: string): Promise<void> {
      for (const a of await store.listBilledTo(appId)) {
        const others = (await store.attachmentsOfAddon(a.id)).filter((t) => t.app_id !== appId);
        if (others.length > 0) {
          await withTransaction(db, (tx) => store.setBillingApp(tx, a.id, others[0].app_id));
          continue;
        }
        await withTransaction(db, (tx) => store.remove(tx, a.id));
        await dropResource(a);
      }
    },

    plan: (a: Addon) => planOf(a.service, a.plan),
    postgresPlan: (a: Addon) => planOf('postgresql', a.plan) as PostgresPlan,
  };
  return service;
}

export type AddonService = ReturnType<typeof createAddonService>;
