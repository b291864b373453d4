-- Add-ons (Heroku's shapes): a PostgreSQL database or a Redis, provisioned on an add-on server the platform runs
-- (never its own database). An add-on belongs to the app that created it (its billing app) and is attached to one
-- or more apps, each attachment naming the config var it sets (DATABASE -> DATABASE_URL). The password is kept
-- sealed under the platform's key-encryption key (server/services/key-box.ts); the URL in the attached apps'
-- config vars is how the apps get it. host and port are where dynos reach the server: the network rules that let
-- an attached app's dynos through are made from them.
CREATE TABLE addons (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name            text NOT NULL UNIQUE,
  service         text NOT NULL CHECK (service IN ('postgresql', 'redis')),
  plan            text NOT NULL,
  app_id          uuid NOT NULL REFERENCES apps (id),
  state           text NOT NULL DEFAULT 'provisioning' CHECK (state IN ('provisioning', 'provisioned', 'deprovisioning')),
  host            text NOT NULL,
  port            integer NOT NULL,
  resource        text NOT NULL,
  password_sealed text NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX addons_app_idx ON addons (app_id);
-- One Redis server per add-on, each on its own port of the add-on host.
CREATE UNIQUE INDEX addons_endpoint_idx ON addons (host, port) WHERE service = 'redis';
CREATE TABLE addon_attachments (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  addon_id   uuid NOT NULL REFERENCES addons (id) ON DELETE CASCADE,
  app_id     uuid NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
  name       text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (app_id, name),
  UNIQUE (addon_id, app_id)
);
CREATE INDEX addon_attachments_addon_idx ON addon_attachments (addon_id);
-- Backups of PostgreSQL add-ons (pg_dump custom format, files in DATA/addons/backups/ADDON_ID) and restores of
-- them, numbered per app as Heroku numbers its transfers (b001, a002 when scheduled, r003 for a restore). A failed
-- one stays, with its error, so it is never silently missing.
CREATE TABLE addon_backups (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  addon_id    uuid NOT NULL REFERENCES addons (id) ON DELETE CASCADE,
  app_id      uuid NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
  num         integer NOT NULL,
  kind        text NOT NULL DEFAULT 'backup' CHECK (kind IN ('backup', 'restore')),
  -- The attachment name it was taken from or restored into (DATABASE), and for a restore the backup it read.
  from_name   text NOT NULL,
  source_id   uuid,
  scheduled   boolean NOT NULL DEFAULT false,
  status      text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'succeeded', 'failed')),
  size        bigint,
  error       text,
  started_at  timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  UNIQUE (app_id, num)
);
CREATE INDEX addon_backups_addon_idx ON addon_backups (addon_id);
CREATE TABLE addon_backup_schedules (
  addon_id     uuid PRIMARY KEY REFERENCES addons (id) ON DELETE CASCADE,
  at_hour      integer NOT NULL CHECK (at_hour BETWEEN 0 AND 23),
  at_minute    integer NOT NULL CHECK (at_minute BETWEEN 0 AND 59),
  timezone     text NOT NULL DEFAULT 'UTC',
  retain       integer NOT NULL DEFAULT 7 CHECK (retain BETWEEN 1 AND 100),
  last_run_on  date,
  created_at   timestamptz NOT NULL DEFAULT now()
);
