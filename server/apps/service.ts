import type { Db } from '../db/pool.js';
import { pgCode, withTransaction } from '../db/pool.js';
import { conflict, forbidden, invalidParams, notFound, quotaExceeded } from '../errors.js';
import { couldNameApp, parseAppName, randomAppName, type AppName } from '../names.js';
import type { RepoStore } from '../services/repo-store.js';
import type { Lifecycle } from '../lifecycle.js';
import type { User } from '../accounts/users.js';
import { parseEgressPolicy, type EgressPolicy } from '../../platform/egress.js';
import { currentReleaseId } from '../plane/current-release.js';

export interface App {
  id: string;
  name: AppName;
  owner_id: string;
  owner_email: string;
  stack: string;
  maintenance: boolean;
  buildpack_provided_description: string | null;
  repo_size: number | null;
  /** The uid its dynos and builds run as on the host (runner/sandbox/identity.ts). */
  uid: number;
  /** What its dynos may reach outside the platform (platform/egress.ts), set by an operator. */
  egress: EgressPolicy;
  /** Its buildpacks in order (buildpack installations); empty: BUILDPACK_URL, .buildpacks, or detection. */
  buildpacks: string[];
  /** Features (features.ts): plain HTTP requests redirected to https; Strict-Transport-Security over TLS. */
  https_only: boolean;
  hsts: boolean;
  /** Automatic certificates for its custom domains (certs:auto). */
  acm: boolean;
  /** When app.json's scripts.postdeploy last ran to completion (it runs once, after the first successful deploy). */
  postdeploy_ran_at: Date | null;
  slug_size: number | null;
  released_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

/** What the app list adds to each app: the current release and dyno counts by state. */
export interface AppSummary {
  release_version: number | null;
  dynos: Record<'starting' | 'up' | 'crashed' | 'stopping', number>;
}

export interface AppEvents {
  /** Called after an app's routing-relevant state changed (created, renamed, maintenance, destroyed). */
  appChanged(appId: string): Promise<void> | void;
}

const APP_COLUMNS = `a.id, a.name, a.owner_id, u.email AS owner_email, a.stack, a.maintenance, a.buildpack_provided_description,
  a.repo_size, a.slug_size, a.released_at, a.created_at, a.updated_at, a.uid, a.egress, a.buildpacks, a.postdeploy_ran_at, a.https_only, a.hsts, a.acm`;
const ACCESS = `(a.owner_id = $1 OR EXISTS (SELECT 1 FROM collaborators c WHERE c.app_id = a.id AND c.user_id = $1))`;
const NOT_FOUND = "Couldn't find that app.";

export function createAppService(deps: { db: Db; repos: RepoStore; baseDomain: string; events?: AppEvents; lifecycle?: Lifecycle; maxAppsPerUser?: number }) {
  const { db, repos } = deps;
  const defaultHost = (name: AppName) => `${name}.${deps.baseDomain}`;
  const changed = async (appId: string) => {
    await deps.events?.appChanged(appId);
  };

  async function insert(owner: User, name: AppName): Promise<App> {
    return withTransaction(db, async (tx) => {
      const limit = deps.maxAppsPerUser;
      if (limit !== undefined && !owner.is_admin) {
        await tx.query('SELECT id FROM users WHERE id = $1 FOR UPDATE', [owner.id]); // one count at a time per owner
        const n = Number((await tx.query('SELECT count(*) AS n FROM apps WHERE owner_id = $1', [owner.id])).rows[0].n);
        if (n >= limit) throw quotaExceeded(`You own ${n} apps, the most this platform allows a user (SLIPWAY_MAX_APPS_PER_USER); destroy one first.`);
      }
      let row;
      try {
        row = (await tx.query('INSERT INTO apps (name, owner_id) VALUES ($1, $2) RETURNING id', [name, owner.id])).rows[0];
      } catch (e) {
        if (pgCode(e) === '23505') throw conflict(`Name ${name} is already taken.`);
        throw e;
      }
      await tx.query(`INSERT INTO domains (app_id, hostname, kind) VALUES ($1, $2, 'default')`, [row.id, defaultHost(name)]).catch((e) => {
        if (pgCode(e) === '23505') throw conflict(`Name ${name} is already taken by a domain.`);
        throw e;
      });
      // The repo is made inside the transaction: if git fails, no app row is left behind.
      await repos.create(name);
      return (await tx.query(`SELECT ${APP_COLUMNS} FROM apps a JOIN users u ON u.id = a.owner_id WHERE a.id = $1`, [row.id])).rows[0];
    });
  }

  const service = {
    /** A new app owned by `owner`; a random name when none is given. Nothing is created on a bad or taken name. */
    async create(owner: User, input: { name?: unknown }): Promise<App> {
      let app: App;
      if (input.name !== undefined && input.name !== null) {
        const name = parseAppName(input.name);
        app = await insert(owner, name);
      } else {
        for (let attempt = 0; ; attempt++) {
          try {
            app = await insert(owner, randomAppName());
            break;
          } catch (e) {
            if (attempt >= 5 || (e as { id?: string }).id !== 'conflict') throw e;
          }
        }
      }
      const repoSize = await this.refreshRepoSize(app);
      await changed(app.id);
      return { ...app, repo_size: repoSize };
    },

    /** Every app the user owns or collaborates on, by name, with its current release and dyno counts. */
    async list(user: User): Promise<(App & AppSummary)[]> {
      const r = await db.query(
        `SELECT ${APP_COLUMNS},
           (SELECT r.version FROM releases r WHERE r.id = ${currentReleaseId('a.id')}) AS release_version,
           (SELECT json_build_object(
              'starting', count(*) FILTER (WHERE d.state = 'starting'), 'up', count(*) FILTER (WHERE d.state = 'up'),
              'crashed', count(*) FILTER (WHERE d.state = 'crashed'), 'stopping', count(*) FILTER (WHERE d.state = 'stopping'))
            FROM dynos d WHERE d.app_id = a.id) AS dynos
         FROM apps a JOIN users u ON u.id = a.owner_id WHERE ${ACCESS} ORDER BY a.name`,
        [user.id],
      );
      return r.rows;
    },

    /**
     * The access check, in one place: the app named or identified by idOrName, if the user owns it or
     * collaborates on it. Any other app — existing or not — is "not found", so existence is not revealed.
     */
    async get(user: User, idOrName: string, o: { operator?: boolean } = {}): Promise<App> {
      if (!couldNameApp(idOrName)) throw notFound(NOT_FOUND);
      const r = await db.query(
        `SELECT ${APP_COLUMNS} FROM apps a JOIN users u ON u.id = a.owner_id
          WHERE (a.name = $2 OR a.id::text = lower($2)) AND (${ACCESS} OR $3)`,
        [user.id, idOrName, o.operator === true && user.is_admin],
      );
      if (!r.rows[0]) throw notFound(NOT_FOUND);
      return r.rows[0];
    },

    /** An app by id, with no access check: for the platform's own stages, never for a request. */
    async byId(id: string): Promise<App | undefined> {
      return (await db.query(`SELECT ${APP_COLUMNS} FROM apps a JOIN users u ON u.id = a.owner_id WHERE a.id = $1`, [id])).rows[0];
    },

    requireOwner(user: User, app: App, action: string): void {
      if (app.owner_id !== user.id) throw forbidden(`Only the owner of ${app.name} can ${action}.`);
    },

    async update(user: User, app: App, patch: { name?: unknown; maintenance?: unknown }): Promise<App> {
      const sets: string[] = [];
      const values: unknown[] = [];
      let newName: AppName | undefined;
      if (patch.name !== undefined && patch.name !== app.name) {
        service.requireOwner(user, app, 'rename it');
        newName = parseAppName(patch.name);
        values.push(newName);
        sets.push(`name = $${values.length}`);
      }
      if (patch.maintenance !== undefined) {
        if (typeof patch.maintenance !== 'boolean') throw invalidParams('Maintenance must be true or false.');
        values.push(patch.maintenance);
        sets.push(`maintenance = $${values.length}`);
      }
      if (sets.length === 0) return app;
      await withTransaction(db, async (tx) => {
        values.push(app.id);
        try {
          await tx.query(`UPDATE apps SET ${sets.join(', ')}, updated_at = now() WHERE id = $${values.length}`, values);
          if (newName) {
            await tx.query(`UPDATE domains SET hostname = $1, updated_at = now() WHERE app_id = $2 AND kind = 'default'`, [defaultHost(newName), app.id]);
          }
        } catch (e) {
          if (pgCode(e) === '23505') throw conflict(`Name ${String(newName)} is already taken.`);
          throw e;
        }
        if (newName) await repos.rename(app.name, newName);
      });
      const updated = await service.get(user, app.id);
      await changed(updated.id);
      return updated;
    },

    /** Turns an app feature on or off (the caller checked the name); the routers follow the app's change event. */
    async setFeature(app: App, column: 'https_only' | 'hsts', enabled: boolean): Promise<void> {
      await db.query(`UPDATE apps SET ${column === 'hsts' ? 'hsts' : 'https_only'} = $2, updated_at = now() WHERE id = $1`, [app.id, enabled]);
      await changed(app.id);
    },

    async markPostdeployRan(appId: string): Promise<void> {
      await db.query('UPDATE apps SET postdeploy_ran_at = now() WHERE id = $1', [appId]);
    },

    /** An operator sets what the app's dynos may reach (the caller checked the user is an administrator). */
    async setEgress(user: User, app: App, body: unknown): Promise<App> {
      let policy: EgressPolicy;
      try {
        policy = parseEgressPolicy(body);
      } catch (e) {
        throw invalidParams(`Egress policy: ${(e as Error).message}.`);
      }
      await db.query('UPDATE apps SET egress = $2, updated_at = now() WHERE id = $1', [app.id, JSON.stringify(policy)]);
      await changed(app.id);
      return service.get(user, app.id, { operator: true });
    },

    async destroy(user: User, app: App): Promise<App> {
      service.requireOwner(user, app, 'destroy it');
      await deps.lifecycle?.emit('appDestroying', { appId: app.id });
      await db.query('DELETE FROM apps WHERE id = $1', [app.id]);
      await changed(app.id); // the router drops its routes and the agent stops its dynos now
      await repos.remove(app.name);
      await deps.lifecycle?.emit('appDestroyed', { appId: app.id });
      return app;
    },

    /** Measures the app's repo on disk and keeps the figure (apps:info reads it; measured after each push). */
    async refreshRepoSize(app: App): Promise<number | null> {
      const size = await repos.size(app.name);
      await db.query('UPDATE apps SET repo_size = $2 WHERE id = $1', [app.id, size]);
      return size;
    },
  };
  return service;
}

export type AppService = ReturnType<typeof createAppService>;
