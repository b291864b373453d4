-- Container addresses on the bridge subnet: one row per address in use, so two hosts or two builds never share one.
CREATE TABLE addresses (
  address    inet PRIMARY KEY,
  owner      text NOT NULL,             -- the container or dyno id that holds it
  created_at timestamptz NOT NULL DEFAULT now()
);
