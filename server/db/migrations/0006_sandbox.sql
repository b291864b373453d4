-- Each app runs as a uid of its own on the host (dynos, one-offs, release phase, builds), so apps share no per-uid
-- kernel limits or files; uids from 100000 up, never reused.
CREATE SEQUENCE IF NOT EXISTS app_uid_seq START 100000 MINVALUE 100000 MAXVALUE 2000000000;
ALTER TABLE apps ADD COLUMN uid integer;
UPDATE apps SET uid = nextval('app_uid_seq') WHERE uid IS NULL;
ALTER TABLE apps ALTER COLUMN uid SET DEFAULT nextval('app_uid_seq');
ALTER TABLE apps ALTER COLUMN uid SET NOT NULL;
ALTER TABLE apps ADD CONSTRAINT apps_uid_unique UNIQUE (uid);
-- What an app's dynos and builds may reach beyond the platform (set by an operator): allow (default), deny, or an
-- allowlist of {cidr, ports} rules.
ALTER TABLE apps ADD COLUMN egress jsonb NOT NULL DEFAULT '{"policy":"allow"}';
-- A slug whose file garbage collection removed (no kept release uses it): the row stays for the release history.
ALTER TABLE slugs ADD COLUMN expired_at timestamptz;
