-- Automatic certificates (Heroku's ACM). An app turns them on; each custom domain then has the state of its
-- certificate (pending, cert issued, failing, failed), the last ACME error and when to try again; the certificates
-- issued are SNI endpoints marked acm. HTTP-01 challenges wait here for the routers to answer them, and the ACME
-- account key (one per directory) is sealed like apps' private keys.
ALTER TABLE apps ADD COLUMN acm boolean NOT NULL DEFAULT false;
ALTER TABLE sni_endpoints ADD COLUMN acm boolean NOT NULL DEFAULT false;
ALTER TABLE domains ADD COLUMN acm_status text;
ALTER TABLE domains ADD COLUMN acm_status_reason text;
ALTER TABLE domains ADD COLUMN acm_failures integer NOT NULL DEFAULT 0;
ALTER TABLE domains ADD COLUMN acm_next_attempt_at timestamptz;
CREATE TABLE acme_challenges (
  token             text PRIMARY KEY,
  app_id            uuid NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
  hostname          text NOT NULL,
  key_authorization text NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE acme_accounts (
  directory_url      text PRIMARY KEY,
  private_key_sealed text NOT NULL,
  created_at         timestamptz NOT NULL DEFAULT now()
);
