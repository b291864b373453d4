/** The shapes the dashboard reads from the API (Heroku Platform API v3 shapes, Slipway's where it adds fields). */

export interface App {
  id: string;
  name: string;
  git_url: string;
  web_url: string;
  maintenance: boolean;
  /** Automatic certificates for its custom domains. */
  acm: boolean;
  released_at: string | null;
  created_at: string;
  updated_at: string;
  buildpack_provided_description: string | null;
  owner: { email: string };
  stack: { name: string };
  slug_size: number | null;
  repo_size: number | null;
  /** Only in the app list. */
  current_release?: { version: number } | null;
  dynos?: Record<'starting' | 'up' | 'crashed' | 'stopping', number>;
}

export type DynoState = 'starting' | 'up' | 'crashed' | 'down' | 'stopping';

export interface Dyno {
  id: string;
  name: string;
  type: string;
  size: string;
  state: DynoState;
  command: string;
  release: { id: string; version: number };
  restarts: number;
  exit_code: number | null;
  started_at: string | null;
  created_at: string;
  updated_at: string;
  stats: { memory_bytes: number | null; memory_limit_bytes: number | null; cpu_seconds: number | null; pids: number | null; sampled_at: string | null };
}

export interface Formation {
  id: string;
  type: string;
  quantity: number;
  size: string;
  command: string;
}

export interface DynoSize {
  name: string;
  memory_bytes: number;
  cpu_shares: number;
}

export interface Release {
  id: string;
  version: number;
  description: string;
  status: 'pending' | 'succeeded' | 'failed';
  current: boolean;
  eligible_for_rollback: boolean;
  created_at: string;
  user: { email: string };
}

export interface Build {
  id: string;
  status: 'pending' | 'succeeded' | 'failed';
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  source_blob: { version: string | null };
  buildpacks: { name?: string; url: string }[] | null;
  release: { id: string; version: number } | null;
  user: { email: string };
  error: string | null;
}

export interface Domain {
  id: string;
  hostname: string;
  kind: 'heroku' | 'custom';
  cname: string | null;
  status: string;
  /** The certificate that serves it over TLS, if one of the app's does. */
  sni_endpoint: { id: string; name: string } | null;
  /** Its automatic certificate's state (pending, cert issued, failing, failed) and the CA's last reason. */
  acm_status: string | null;
  acm_status_reason: string | null;
  created_at: string;
}

/** A certificate of the app (Heroku's SNI endpoint); its private key is never sent back. */
export interface SniEndpoint {
  id: string;
  name: string;
  domains: string[];
  ssl_cert: { cert_domains: string[]; issuer: string; subject: string; starts_at: string; expires_at: string; acm: boolean; 'ca_signed?': boolean; 'self_signed?': boolean };
}

export interface Feature {
  name: string;
  description: string;
  enabled: boolean;
}

export interface Account {
  id: string;
  email: string;
  name: string | null;
  admin: boolean;
}

/** One of the account's API tokens (Heroku's Authorization); the token itself only for the one in use. */
export interface Authorization {
  id: string;
  description: string;
  created_at: string;
  last_used_at: string | null;
  access_token: { token: string | null; expires_in: number | null };
}

export type ConfigVars = Record<string, string>;

export interface Session {
  token: string;
  email: string;
  /** Set when the dashboard made the token by logging in: logging out revokes it. A pasted token is left alone. */
  authorizationId?: string;
}
