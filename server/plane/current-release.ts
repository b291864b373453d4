/**
 * The one definition of an app's current release: its newest succeeded one. (A release succeeds once it is
 * running: after its build, its release phase and, when verified, its dynos.) Every query that needs "the
 * current release" of an app builds on this expression.
 */

/** SQL for the id of the current release of the app whose id is the SQL expression appId (a column or $n). */
export const currentReleaseId = (appId: string): string =>
  `(SELECT cur_r.id FROM releases cur_r WHERE cur_r.app_id = ${appId} AND cur_r.status = 'succeeded' ORDER BY cur_r.version DESC LIMIT 1)`;

/**
 * SQL for the id of the release being deployed for the app appId, if any: the newest pending release whose deploy
 * has started (its dynos run beside the current release's until they are verified).
 */
export const deployingReleaseId = (appId: string): string =>
  `(SELECT dep_r.id FROM releases dep_r WHERE dep_r.app_id = ${appId} AND dep_r.status = 'pending' AND dep_r.deploy_started_at IS NOT NULL ORDER BY dep_r.version DESC LIMIT 1)`;
