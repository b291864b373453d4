-- Dyno figures sampled from cgroups, the agent that reports a dyno, and one-off dyno numbering.
ALTER TABLE dynos ADD COLUMN memory_limit_bytes bigint;
ALTER TABLE dynos ADD COLUMN pids integer;
ALTER TABLE dynos ADD COLUMN stats_at timestamptz;
CREATE INDEX dynos_agent_idx ON dynos (agent_id);
-- Where an agent takes attach connections of one-off dynos (`slipway run`).
ALTER TABLE agents ADD COLUMN rendezvous_port integer;
