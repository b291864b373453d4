/** Heroku Platform API v3 shapes. The only place that knows how a row looks on the wire. */
import type { App, AppSummary } from '../apps/service.js';
import type { Collaborator } from '../apps/collaborators.js';
import type { User } from '../accounts/users.js';
import type { Build } from '../builds/service.js';
import type { Release } from '../releases/service.js';
import type { Slug } from '../releases/slugs.js';
import type { DynoRow, FormationRow } from '../dynos/service.js';
import type { SniEndpoint } from '../certs/sni-endpoints.js';
import type { Domain } from '../domains/service.js';
import type { DynoSize } from '../../runner/index.js';

export interface UrlInfo {
  publicUrl: string; // http://127.0.0.1:5050
  baseDomain: string; // localhost
  routerPort: number;
  /** A release's output URL, signed to be read without a token (the API role sets it: url-signer.ts). */
  releaseOutputUrl?: (app: string, releaseId: string) => string;
}

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

export function webUrl(name: string, u: UrlInfo): string {
  const port = u.routerPort === 80 ? '' : `:${u.routerPort}`;
  return `http://${name}.${u.baseDomain}${port}/`;
}

/** With an AppSummary (GET /apps), Slipway's own current_release and dynos fields: the dashboard's list needs no request per app. */
export function serializeApp(app: App & Partial<AppSummary>, u: UrlInfo) {
  const stack = { id: app.stack, name: app.stack };
  return {
    id: app.id,
    name: app.name,
    acm: app.acm,
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
    repo_size: app.repo_size === null ? null : Number(app.repo_size), // bigint columns arrive as strings
    slug_size: app.slug_size === null ? null : Number(app.slug_size),
    space: null,
    stack,
    team: null,
    updated_at: iso(app.updated_at),
    web_url: webUrl(app.name, u),
    ...(app.dynos ? { current_release: app.release_version === null ? null : { version: app.release_version }, dynos: app.dynos } : {}),
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

/**
 * Heroku's Authorization. The token itself is known only when it was just made, or when it is the one the caller
 * presented (the Heroku CLI's logout and auth:token find their own token that way); otherwise null.
 */
export function serializeAuthorization(t: {
  id: string; description: string; created_at: Date; updated_at?: Date; expires_at: Date | null; last_used_at?: Date | null; token: string | null; user: User;
}) {
  const expiresIn = t.expires_at ? Math.max(0, Math.round((t.expires_at.getTime() - Date.now()) / 1000)) : null;
  return {
    id: t.id,
    access_token: { expires_in: expiresIn, id: t.id, token: t.token },
    client: null,
    created_at: iso(t.created_at),
    description: t.description,
    expires_in: expiresIn,
    grant: null,
    last_used_at: t.last_used_at ? iso(t.last_used_at) : null,
    refresh_token: null,
    scope: ['global'],
    session: null,
    updated_at: iso(t.updated_at ?? t.created_at),
    user: { email: t.user.email, full_name: t.user.name, id: t.user.id },
  };
}

export function serializeBuild(b: Build, u: UrlInfo) {
  return {
    id: b.id,
    app: { id: b.app_id, name: b.app_name },
    buildpacks: b.buildpacks,
    created_at: iso(b.created_at),
    updated_at: iso(b.updated_at),
    output_stream_url: `${u.publicUrl}/apps/${b.app_name}/builds/${b.id}/output`,
    release: b.release_id ? { id: b.release_id, version: b.release_version } : null,
    slug: b.slug_id ? { id: b.slug_id } : null,
    source_blob: { checksum: null, url: b.source_url, version: b.source_version, version_description: null },
    stack: b.stack,
    status: b.status,
    user: { email: b.user_email, id: b.user_id },
    // Slipway's own fields
    error: b.error,
    started_at: iso(b.started_at),
    finished_at: iso(b.finished_at),
  };
}

/** Heroku's Release; `failure` (why a failed one failed) is Slipway's, beside Heroku's fields. */
export function serializeRelease(r: Release, u: UrlInfo) {
  return {
    id: r.id,
    addon_plan_names: [],
    artifacts: [],
    app: { id: r.app_id, name: r.app_name },
    created_at: iso(r.created_at),
    updated_at: iso(r.updated_at),
    current: r.current,
    description: r.description,
    eligible_for_rollback: r.status === 'succeeded' && r.slug_id !== null,
    // Heroku's clients read this URL without a token: signed, for an hour (GET /release-output/…).
    output_stream_url: u.releaseOutputUrl?.(r.app_name, r.id) ?? null,
    slug: r.slug_id ? { id: r.slug_id } : null,
    status: r.status,
    failure: r.failure,
    user: { email: r.user_email, id: r.user_id },
    version: r.version,
    process_types: r.process_types,
  };
}

export function serializeSlug(s: Slug) {
  return {
    id: s.id,
    blob: null,
    buildpack_provided_description: s.buildpack_provided_description,
    checksum: `SHA256:${s.digest}`,
    commit: s.commit,
    commit_description: s.commit_description,
    created_at: iso(s.created_at),
    updated_at: iso(s.updated_at),
    process_types: s.process_types,
    size: s.size,
    stack: { id: s.stack, name: s.stack },
    // Slipway's: the slug's layers by role, lowest first (null for a slug made before layers, one file).
    layers: s.layers ? s.layers.map((l) => ({ role: l.role, digest: l.digest, size: l.size })) : null,
  };
}

export function serializeDynoSize(s: DynoSize) {
  return {
    id: s.name,
    name: s.name,
    memory: s.memoryBytes / 1024 ** 3, // GB, as Heroku gives it
    compute: s.cpuShares / 1024,
    dedicated: false,
    // Slipway's own fields
    memory_bytes: s.memoryBytes,
    cpu_shares: s.cpuShares,
    pids_limit: s.pidsLimit,
    disk_bytes: s.diskBytes, // /app's writable layer and /tmp together
    nofile: s.nofile,
    nproc: s.nproc,
  };
}

export function serializeFormation(f: FormationRow) {
  return {
    id: f.id,
    app: { id: f.app_id, name: f.app_name },
    command: f.command ?? '',
    created_at: iso(f.created_at),
    quantity: f.quantity,
    size: f.size,
    type: f.type,
    updated_at: iso(f.updated_at),
  };
}

export function serializeDyno(d: DynoRow) {
  const num = (v: string | number | null) => (v === null ? null : Number(v));
  return {
    id: d.id,
    app: { id: d.app_id, name: d.app_name },
    attach_url: null,
    command: d.command,
    created_at: iso(d.created_at),
    name: d.name,
    release: { id: d.release_id, version: d.release_version },
    size: d.size,
    state: d.state,
    type: d.type,
    updated_at: iso(d.updated_at),
    // Slipway's own fields
    restarts: d.restarts,
    exit_code: d.exit_code,
    started_at: iso(d.started_at),
    stats: { memory_bytes: num(d.memory_bytes), memory_limit_bytes: num(d.memory_limit_bytes), cpu_seconds: num(d.cpu_seconds), pids: d.pids, sampled_at: iso(d.stats_at) },
  };
}

/** Heroku's Domain: the default hostname has kind "heroku" (what Heroku's CLI looks for), custom ones "custom". */
export function serializeDomain(d: Domain, u: UrlInfo) {
  const custom = d.kind === 'custom';
  return {
    id: d.id,
    app: { id: d.appId, name: d.appName },
    hostname: d.hostname,
    kind: custom ? 'custom' : 'heroku',
    // Point a custom name's DNS at the app's default hostname (which reaches the router).
    cname: custom ? `${d.appName}.${u.baseDomain}` : null,
    status: custom ? 'succeeded' : 'none',
    acm_status: d.acmStatus,
    acm_status_reason: d.acmStatusReason,
    sni_endpoint: d.sniEndpoint,
    created_at: iso(d.createdAt),
    updated_at: iso(d.updatedAt),
  };
}

/** Heroku's SNI endpoint: the certificate's facts, never its private key. */
export function serializeSniEndpoint(e: SniEndpoint) {
  return {
    id: e.id,
    name: e.name,
    display_name: null,
    app: { id: e.appId, name: e.appName },
    certificate_chain: e.certificateChain,
    domains: e.domainIds,
    ssl_cert: {
      id: e.id,
      'ca_signed?': e.caSigned,
      'self_signed?': e.selfSigned,
      cert_domains: e.names,
      starts_at: iso(e.startsAt),
      expires_at: iso(e.expiresAt),
      issuer: e.issuer,
      subject: e.subject,
      acm: e.acm,
    },
    created_at: iso(e.createdAt),
    updated_at: iso(e.updatedAt),
  };
}
