/** What the push benchmarks share: the fixtures, and one app pushed twice (cold, then warm build cache). */
import type { TestPlatform } from '../test/helpers/platform.js';

export const FIXTURES = [
  ['procfile-shell', 'Procfile only'],
  ['static-site', 'static site'],
  ['python-stdlib', 'Python, no requirements'],
  ['node-nodeps', 'Node, no dependencies'],
  ['node-deps', 'Node, lockfile with 3 packages'],
] as const;

export const secondsSince = (from: bigint) => Number(process.hrtime.bigint() - from) / 1e9;

/**
 * Creates APP (prefix + fixture), pushes the fixture, then an empty commit; each timing runs from `git push` to
 * the end of `until(app)` (nothing more than the push when not given).
 */
export async function pushColdWarm(t: TestPlatform, prefix: string, fixture: string, until?: (app: string) => Promise<void>): Promise<{ app: string; cold: number; warm: number }> {
  const app = `${prefix}-${fixture}`.slice(0, 30).replace(/-$/, '');
  const created = await t.api('POST', '/apps', { name: app });
  if (created.status !== 201) throw new Error(`apps:create ${app}: ${JSON.stringify(created.body)}`);
  const dir = await t.checkout(fixture, app);
  const push = async () => {
    const started = process.hrtime.bigint();
    const r = await t.git(dir, ['push', '--force', 'slipway', 'main']);
    if (r.code !== 0) throw new Error(`push of ${fixture} failed:\n${r.out}`);
    await until?.(app);
    return secondsSince(started);
  };
  const cold = await push();
  await t.git(dir, ['commit', '-q', '--allow-empty', '-m', 'again']);
  return { app, cold, warm: await push() };
}
