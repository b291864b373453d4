-- A slug made as layers by role (server/images/slug-layers.ts): runtime, dependencies and app, each a blob in
-- DATA/images/blobs, listed lowest first as {role, mediaType, digest, size, diffId}. NULL for a slug made before
-- layers: one file, DATA/slugs/DIGEST.tar.gz.
ALTER TABLE slugs ADD COLUMN layers jsonb;
