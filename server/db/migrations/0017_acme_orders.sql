-- The ACME orders each app has made (one row per order sent to the CA), so one app's domains take at most a few
-- orders an hour of the platform's one ACME account, whose rate limits every app shares.
CREATE TABLE acme_orders (
  app_id uuid NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
  at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX acme_orders_app_at ON acme_orders (app_id, at);
