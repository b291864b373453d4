-- What the add-on host last saw of an add-on server's disk, by the server's address (HOST:PORT): pg:info reads it,
-- the add-on host alone writes it (server/addons/storage-watch.ts). An operator's server has no row: its disk is
-- not the platform's to see.
CREATE TABLE addon_server_disks (
  server      text PRIMARY KEY,
  free_bytes  bigint NOT NULL,
  total_bytes bigint NOT NULL,
  "full"      boolean NOT NULL,
  checked_at  timestamptz NOT NULL DEFAULT now()
);
