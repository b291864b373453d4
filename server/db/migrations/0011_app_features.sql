-- App features (Heroku's /apps/{app}/features): https-only (plain HTTP requests get a redirect to https) and hsts
-- (responses over TLS carry Strict-Transport-Security).
ALTER TABLE apps ADD COLUMN https_only boolean NOT NULL DEFAULT false;
ALTER TABLE apps ADD COLUMN hsts boolean NOT NULL DEFAULT false;
