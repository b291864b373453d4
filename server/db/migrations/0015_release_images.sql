-- A release's OCI image, once made (server/images/release-image.ts): its manifest's digest and every blob it uses
-- (manifest, config, layers), so the registry endpoint serves an app's blobs only to those who may see the app.
CREATE TABLE release_images (
  release_id      uuid PRIMARY KEY REFERENCES releases (id) ON DELETE CASCADE,
  app_id          uuid NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
  manifest_digest text NOT NULL,
  manifest_size   integer NOT NULL,
  blobs           text[] NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX release_images_app ON release_images (app_id);
