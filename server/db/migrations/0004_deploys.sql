-- Deploys: a release's dynos start and are verified before it becomes the app's current release.
-- deploy_started_at: the deploy stage began (its dynos may run beside the current release's); failure: why it failed.
ALTER TABLE releases ADD COLUMN deploy_started_at timestamptz;
ALTER TABLE releases ADD COLUMN failure text;
-- The app.json health checks of the slug's app (Dokku's shape), read at build time.
ALTER TABLE slugs ADD COLUMN healthchecks jsonb;
