/**
 * No tenant stalls the pipeline. One tenant (an owner) with three apps whose release phases run 25 s, another
 * tenant pushing a static site meanwhile, on a worker with 4 release slots (SLIPWAY_RELEASE_CONCURRENCY=4; one
 * owner's share is half):
 * - the other tenant's push deploys in about the time it takes alone (before: it waited behind the long release
 *   phases, which took every slot of the release queue);
 * - the first tenant never runs more than its share (2) of release phases at once: its third waits, holding no slot,
 *   and runs when one of its first two ends;
 * - every one of its pushes still deploys;
 * - a release phase past SLIPWAY_RELEASE_TIMEOUT (40 s here) is killed, its release fails and the release before
 *   it keeps serving.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitFor } from '../helpers/procs.js';

const PHASE_S = 25;
let t: TestPlatform;
before(async () => {
  t = await startTestPlatform({ SLIPWAY_RELEASE_CONCURRENCY: '4', SLIPWAY_RELEASE_TIMEOUT: '40', SLIPWAY_BOOT_TIMEOUT: '30', SLIPWAY_STOP_GRACE: '1' }, { dynos: true });
});
after(async () => t?.close());

/** A user who owns apps (the admin, who pushes them, a collaborator on each). */
async function tenant(email: string, apps: string[]): Promise<void> {
  const u = await t.platform.services.users.create({ email, password: `${email}-password` });
  const token = (await t.platform.services.users.createToken(u)).token;
  for (const name of apps) {
    assert.equal((await t.api('POST', '/apps', { name }, token)).status, 201);
    assert.equal((await t.api('POST', `/apps/${name}/collaborators`, { user: 'admin@example.com' }, token)).status, 201);
  }
}

async function pushed(app: string, fixture: string): Promise<{ ms: number; out: string }> {
  const dir = await t.checkout(fixture, app);
  const started = Date.now();
  const push = await t.git(dir, ['push', 'slipway', 'main']);
  assert.equal(push.code, 0, push.out);
  return { ms: Date.now() - started, out: push.out };
}

const phaseSpan = (out: string): [number, number] => {
  const at = (w: string) => Number(new RegExp(`release phase ${w} (\\d+)`).exec(out)?.[1]) / 1e6;
  return [at('from'), at('to')];
};

test('when one tenant\'s apps hold long release phases, then another tenant\'s push deploys in its usual time and the first never holds more than its share', async () => {
  const longApps = ['slow-1', 'slow-2', 'slow-3'];
  await tenant('busy@example.com', longApps);
  await tenant('quick@example.com', ['quick-warm', 'quick']);
  const alone = await pushed('quick-warm', 'static-site');

  for (const app of longApps) {
    assert.equal((await t.api('PATCH', `/apps/${app}/config-vars`, { RELEASE_SLEEP: String(PHASE_S) })).status, 200);
  }
  const slow = longApps.map((app) => pushed(app, 'release-long'));
  // A release made of a build (v2, after the config var's v1) is the release phase under way.
  const inRelease = async () => (await Promise.all(longApps.map(async (a) => ((await t.api('GET', `/apps/${a}/releases`)).body as unknown[]).length >= 2))).filter(Boolean).length;
  await waitFor('two release phases under way', async () => (await inRelease()) >= 2, 60_000, 200);
  let settled = 0;
  for (const p of slow) void p.then(() => settled++, () => settled++);

  const contended = await pushed('quick', 'static-site');
  assert.equal(settled, 0, 'the long release phases were still running');
  assert.ok(contended.ms < alone.ms + 10_000, `the push took ${contended.ms} ms beside the long release phases, ${alone.ms} ms alone`);
  assert.equal((await t.get('quick', '/')).status, 200);

  const spans = (await Promise.all(slow)).map((r) => phaseSpan(r.out));
  for (const [from, to] of spans) assert.ok(from > 0 && to - from >= PHASE_S * 1000 - 500, `each release phase ran (${from}..${to})`);
  const most = Math.max(...spans.map(([from]) => spans.filter(([f, e]) => f <= from && from < e).length));
  assert.equal(most, 2, `at most 2 of the tenant's release phases at once (spans ${JSON.stringify(spans)})`);
});

test('when a release phase runs past SLIPWAY_RELEASE_TIMEOUT, then it is killed, the release fails and the one before keeps serving', async () => {
  await tenant('stuck@example.com', ['stuck']);
  await pushed('stuck', 'static-site');
  assert.equal((await t.api('PATCH', '/apps/stuck/config-vars', { RELEASE_SLEEP: '3600' })).status, 200);
  const dir = await t.checkout('release-long', 'stuck');
  const started = Date.now();
  const push = await t.git(dir, ['push', '--force', 'slipway', 'main']);
  const took = Date.now() - started;
  assert.notEqual(push.code, 0, push.out);
  assert.match(push.out, /The release command timed out/);
  assert.ok(took < 40_000 + 30_000, `the push ended ${took} ms after it started`);
  assert.equal((await t.get('stuck', '/')).status, 200, 'the static site still serves');
  const releases = (await t.api('GET', '/apps/stuck/releases')).body as { status: string }[];
  assert.equal(releases.at(-1)?.status, 'failed');
});
