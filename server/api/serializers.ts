/** Heroku Platform API v3 shapes. The only place that knows how a row looks on the wire. */
import type { App } from '../services/apps.js';
import type { Collaborator } from '../services/collaborators.js';
import type { User } from '../services/users.js';

export interface UrlInfo {
  publicUrl: string; // http://127.0.0.1:5050
  baseDomain: string; // localhost
  routerPort: number;
}

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

export function webUrl(name: string, u: UrlInfo): string {
  const port = u.routerPort === 80 ? '' : `:${u.routerPort}`;
  return `http://${name}.${u.baseDomain}${port}/`;
}

export function serializeApp(app: App, u: UrlInfo) {
  const stack = { id: app.stack, name: app.stack };
  return {
    id: app.id,
    name: app.name,
    acm: false,
    archived_at: null,
    buildpack_provided_description: app.buildpack_provided_description,
    build_stack: stack,
    created_at: iso(app.created_at),
    generation: { name: 'cedar' },
    git_url: `${u.publicUrl}/${app.name}.git`,
    internal_routing: null,
    maintenance: app.maintenance,
    organization: null,
    owner: { email: app.owner_email, id: app.owner_id },
    region: { id: 'local', name: 'local' },
    released_at: iso(app.released_at),
    repo_size: app.repo_size,
    slug_size: app.slug_size,
    space: null,
    stack,
    team: null,
    updated_at: iso(app.updated_at),
    web_url: webUrl(app.name, u),
  };
}

export function serializeAccount(user: User) {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    allow_tracking: false,
    beta: false,
    created_at: iso(user.created_at),
    updated_at: iso(user.updated_at),
    last_login: iso(user.last_login),
    default_organization: null,
    default_team: null,
    delinquent_at: null,
    federated: false,
    identity_provider: null,
    sms_number: null,
    suspended_at: null,
    two_factor_authentication: false,
    verified: true,
    // Slipway's own field: operators may create users.
    admin: user.is_admin,
  };
}

export function serializeCollaborator(c: Collaborator) {
  return {
    id: c.id,
    app: { id: c.app_id, name: c.app_name },
    created_at: iso(c.created_at),
    updated_at: iso(c.updated_at),
    permissions: [],
    role: c.role,
    user: { email: c.email, federated: false, id: c.user_id },
  };
}

export function serializeAuthorization(t: { id: string; token: string; description: string; created_at: Date; user: User }) {
  return {
    id: t.id,
    access_token: { expires_in: null, id: t.id, token: t.token },
    client: null,
    created_at: iso(t.created_at),
    description: t.description,
    grant: null,
    refresh_token: null,
    scope: ['global'],
    session: null,
    updated_at: iso(t.created_at),
    user: { email: t.user.email, full_name: t.user.name, id: t.user.id },
  };
}
