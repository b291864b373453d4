-- Certificates apps serve over TLS at the router (Heroku's SNI endpoints). The private key is kept sealed under the
-- platform's key-encryption key (server/services/key-box.ts), never in the clear; a domain may name the endpoint
-- that serves it.
CREATE TABLE sni_endpoints (
  id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  app_id             uuid NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
  name               text NOT NULL UNIQUE,
  certificate_chain  text NOT NULL,
  private_key_sealed text NOT NULL,
  cert_domains       text[] NOT NULL,
  starts_at          timestamptz NOT NULL,
  expires_at         timestamptz NOT NULL,
  issuer             text NOT NULL,
  subject            text NOT NULL,
  self_signed        boolean NOT NULL,
  ca_signed          boolean NOT NULL,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sni_endpoints_app_idx ON sni_endpoints (app_id);
ALTER TABLE domains ADD COLUMN sni_endpoint_id uuid REFERENCES sni_endpoints (id) ON DELETE SET NULL;
