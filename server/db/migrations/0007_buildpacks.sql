-- An app's buildpacks, in order (Heroku's buildpack installations: `heroku buildpacks:set`): when set, builds use
-- them instead of BUILDPACK_URL or the repository's .buildpacks.
ALTER TABLE apps ADD COLUMN buildpacks jsonb NOT NULL DEFAULT '[]';
-- Keys the platform signs with (a release's output_stream_url, which clients read without a token), made once.
CREATE TABLE platform_secrets (
  name       text PRIMARY KEY,
  value      text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
