-- Slipway's state. Postgres is the source of truth; Redis carries queues, pub/sub and log streams.

CREATE TABLE users (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email         text NOT NULL,
  name          text,
  password_hash text,                      -- scrypt; NULL: token login only
  is_admin      boolean NOT NULL DEFAULT false,
  last_login    timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE api_tokens (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  token_hash   text NOT NULL UNIQUE,       -- sha256 of the token; the token itself is shown once
  description  text NOT NULL DEFAULT '',
  expires_at   timestamptz,
  last_used_at timestamptz,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_tokens_user_idx ON api_tokens (user_id);

CREATE TABLE apps (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name        text NOT NULL UNIQUE,
  owner_id    uuid NOT NULL REFERENCES users (id),
  stack       text NOT NULL DEFAULT 'bookworm',
  maintenance boolean NOT NULL DEFAULT false,
  buildpack_provided_description text,
  repo_size   bigint,
  slug_size   bigint,
  released_at timestamptz,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX apps_owner_idx ON apps (owner_id);

CREATE TABLE collaborators (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  app_id     uuid NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
  user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (app_id, user_id)
);
CREATE INDEX collaborators_user_idx ON collaborators (user_id);

CREATE TABLE config_vars (
  app_id     uuid NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
  key        text NOT NULL,
  value      text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (app_id, key)
);

CREATE TABLE slugs (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  app_id        uuid NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
  digest        text NOT NULL,             -- sha256 of the tar.gz: DATA/slugs/<digest>.tar.gz
  size          bigint NOT NULL,
  commit        text,
  commit_description text,
  process_types jsonb NOT NULL DEFAULT '{}',
  buildpack_provided_description text,
  stack         text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX slugs_app_idx ON slugs (app_id);
CREATE INDEX slugs_digest_idx ON slugs (digest);

CREATE TABLE builds (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  app_id         uuid NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
  user_id        uuid REFERENCES users (id) ON DELETE SET NULL,
  status         text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
  source_version text,                     -- the git sha
  source_url     text,
  slug_id        uuid REFERENCES slugs (id) ON DELETE SET NULL,
  buildpacks     jsonb NOT NULL DEFAULT '[]',
  stack          text NOT NULL DEFAULT 'bookworm',
  error          text,
  started_at     timestamptz,
  finished_at    timestamptz,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX builds_app_idx ON builds (app_id, created_at DESC);

CREATE TABLE releases (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  app_id        uuid NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
  version       integer NOT NULL CHECK (version > 0),
  slug_id       uuid REFERENCES slugs (id),
  config        jsonb NOT NULL DEFAULT '{}',   -- the config vars of this release (immutable copy)
  process_types jsonb NOT NULL DEFAULT '{}',
  description   text NOT NULL,
  status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
  user_id       uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (app_id, version)
);

CREATE TABLE formation (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  app_id     uuid NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
  type       text NOT NULL,
  quantity   integer NOT NULL DEFAULT 0 CHECK (quantity >= 0),
  size       text NOT NULL DEFAULT 'standard-1x',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (app_id, type)
);

CREATE TABLE agents (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  hostname     text NOT NULL UNIQUE,
  address      text NOT NULL,
  state        text NOT NULL DEFAULT 'up',
  memory_total bigint,
  memory_free  bigint,
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE dynos (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  app_id       uuid NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
  release_id   uuid NOT NULL REFERENCES releases (id),
  agent_id     uuid REFERENCES agents (id) ON DELETE SET NULL,
  name         text NOT NULL,               -- web.1, run.3
  type         text NOT NULL,
  command      text NOT NULL,
  size         text NOT NULL DEFAULT 'standard-1x',
  state        text NOT NULL DEFAULT 'starting' CHECK (state IN ('starting', 'up', 'crashed', 'down', 'stopping')),
  container_id text UNIQUE,                 -- slipway-APP-vN-web-1
  address      inet,
  port         integer,
  restarts     integer NOT NULL DEFAULT 0,
  exit_code    integer,
  memory_bytes bigint,
  cpu_seconds  double precision,
  started_at   timestamptz,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dynos_app_idx ON dynos (app_id);

CREATE TABLE domains (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  app_id     uuid NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
  hostname   text NOT NULL,
  kind       text NOT NULL DEFAULT 'custom' CHECK (kind IN ('default', 'custom')),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX domains_hostname_key ON domains (lower(hostname));
