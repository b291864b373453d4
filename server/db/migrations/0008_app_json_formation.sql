-- app.json's `formation` (quantity and size per process type), applied when a type first appears in a release.
ALTER TABLE slugs ADD COLUMN formation jsonb;
