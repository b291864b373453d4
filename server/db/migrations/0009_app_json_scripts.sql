-- app.json's scripts.postdeploy: run once in a one-off dyno after the app's first successful deploy; the app
-- remembers when it last ran to completion (a failed one is tried again after the next deploy).
ALTER TABLE slugs ADD COLUMN postdeploy text;
ALTER TABLE apps ADD COLUMN postdeploy_ran_at timestamptz;
