import type { Db } from '../db/pool.js';
import { pgCode } from '../db/pool.js';
import { conflict, invalidParams, notFound } from '../errors.js';
import { isUuid, parseEmail } from '../names.js';
import type { App } from './service.js';
import type { User } from '../accounts/users.js';

export interface Collaborator {
  id: string;
  app_id: string;
  app_name: string;
  user_id: string;
  email: string;
  role: 'owner' | 'collaborator';
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = `c.id, c.app_id, a.name AS app_name, c.user_id, u.email, 'collaborator' AS role, c.created_at, c.updated_at`;

export function createCollaboratorService(db: Db) {
  return {
    /** The owner first (as Heroku lists it), then collaborators by email. */
    async list(app: App): Promise<Collaborator[]> {
      const owner: Collaborator = {
        id: app.owner_id, app_id: app.id, app_name: app.name, user_id: app.owner_id, email: app.owner_email,
        role: 'owner', created_at: app.created_at, updated_at: app.created_at,
      };
      const r = await db.query(
        `SELECT ${COLUMNS} FROM collaborators c JOIN users u ON u.id = c.user_id JOIN apps a ON a.id = c.app_id
          WHERE c.app_id = $1 ORDER BY u.email`,
        [app.id],
      );
      return [owner, ...r.rows];
    },

    async add(app: App, emailInput: unknown): Promise<Collaborator> {
      const email = parseEmail(emailInput);
      const user = (await db.query<User>('SELECT id, email FROM users WHERE lower(email) = $1', [email])).rows[0];
      if (!user) throw notFound(`Couldn't find a user with email ${email}.`);
      if (user.id === app.owner_id) throw invalidParams(`${email} owns ${app.name} already.`);
      try {
        const r = await db.query('INSERT INTO collaborators (app_id, user_id) VALUES ($1, $2) RETURNING id', [app.id, user.id]);
        return (await db.query(`SELECT ${COLUMNS} FROM collaborators c JOIN users u ON u.id = c.user_id JOIN apps a ON a.id = c.app_id WHERE c.id = $1`, [r.rows[0].id])).rows[0];
      } catch (e) {
        if (pgCode(e) === '23505') throw conflict(`${email} is already a collaborator on ${app.name}.`);
        throw e;
      }
    },

    async remove(app: App, emailOrId: string): Promise<Collaborator> {
      const byId = isUuid(emailOrId);
      if (!byId && !/^[^\s\u0000-\u001f\u007f]{3,254}$/.test(emailOrId)) throw notFound(`Couldn't find that collaborator (${emailOrId.slice(0, 60)}).`);
      const r = await db.query(
        `DELETE FROM collaborators c USING users u, apps a
          WHERE c.user_id = u.id AND a.id = c.app_id AND c.app_id = $1 AND ${byId ? '(c.id = $2::uuid OR u.id = $2::uuid)' : 'lower(u.email) = lower($2)'}
          RETURNING ${COLUMNS}`,
        [app.id, emailOrId],
      );
      if (!r.rows[0]) throw notFound(`${emailOrId} is not a collaborator on ${app.name}.`);
      return r.rows[0];
    },
  };
}

export type CollaboratorService = ReturnType<typeof createCollaboratorService>;
