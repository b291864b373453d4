/**
 * app.json's `scripts.postdeploy` (Heroku's): run once, in a one-off dyno of the release (postdeploy.1, the
 * release's config vars), after the app's first successful deploy; its output goes to the push. The release is live
 * by then, so a failure is reported, not undone, and the script is tried again after the next deploy until it
 * once exits 0.
 */
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { AppService } from '../apps/service.js';
import type { AddonStore } from '../addons/store.js';
import type { Release } from '../releases/service.js';
import type { SlugService } from '../releases/slugs.js';
import type { StageOutput } from './output.js';
import type { SlugCommand } from './release.js';

export interface PostdeployDeps {
  config: Config;
  apps: AppService;
  slugs: SlugService;
  addonStore: Pick<AddonStore, 'endpointsOf'>;
  postdeploy?: SlugCommand;
  log: Logger;
}

export async function runPostdeploy(deps: PostdeployDeps, release: Release, out: StageOutput): Promise<void> {
  const slug = release.slug_id ? await deps.slugs.byId(release.slug_id) : undefined;
  const app = slug?.postdeploy ? await deps.apps.byId(release.app_id) : undefined;
  if (!slug?.postdeploy || !app || app.postdeploy_ran_at) return;
  await out.say('-----> Running postdeploy script (app.json scripts.postdeploy, once after the first deploy)...');
  if (!deps.postdeploy) {
    await out.say(' !     The postdeploy script needs build isolation (SLIPWAY_BUILD_ISOLATION=container, as root); it did not run.');
    return;
  }
  const outcome = await deps.postdeploy({
    uid: app.uid, egress: app.egress, addons: await deps.addonStore.endpointsOf(app.id), dyno: 'postdeploy.1',
    app: release.app_name, version: release.version, digest: slug.digest,
    command: slug.postdeploy, config: release.config, log: (l) => void out.say(`       ${l}`),
  });
  if (outcome.code === 0) {
    await deps.apps.markPostdeployRan(app.id);
    await out.say('       Postdeploy script done');
    return;
  }
  const why = outcome.timedOut ? 'timed out' : `exited with status ${outcome.code}`;
  deps.log.info('postdeploy failed', { app: release.app_name, release: release.version, why });
  await out.say(` !     The postdeploy script ${why}; v${release.version} is live. It runs again after the next deploy.`);
}
