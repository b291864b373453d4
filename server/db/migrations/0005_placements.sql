-- Who holds a host: the agent process registered for it (pid on that host), its data dir and API URL, so a second
-- `slipway up` on the host can name the running one.
ALTER TABLE agents ADD COLUMN pid integer;
ALTER TABLE agents ADD COLUMN data_dir text;
ALTER TABLE agents ADD COLUMN api_url text;
-- Each dyno of a formation (app, process type, index) is placed on one agent, which alone runs it.
CREATE TABLE placements (
  app_id    uuid NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
  type      text NOT NULL,
  idx       integer NOT NULL CHECK (idx >= 1),
  agent_id  uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  placed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (app_id, type, idx)
);
CREATE INDEX placements_agent ON placements (agent_id);
