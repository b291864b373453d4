/** Health checks given by config vars: one web check, named for them, validated like app.json's. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checksFor, checksWorstCaseS, configHealthcheck, MAX_CHECKS_S } from '../../platform/health-check.js';
import { readAppJson } from '../../buildpacks/app-json.js';
import { verifyBudgetMs } from '../../server/stages/deploy.js';

test('when health check config vars are read, then they make one web check named for them, and bad values are named', () => {
  assert.deepEqual(configHealthcheck({}), { problems: [] }, 'no path, no check');
  const { check, problems } = configHealthcheck({ SLIPWAY_HEALTHCHECK_PATH: '/ready', SLIPWAY_HEALTHCHECK_CONTENT: 'ok', SLIPWAY_HEALTHCHECK_ATTEMPTS: '4' });
  assert.deepEqual(problems, []);
  assert.deepEqual(check, { name: 'SLIPWAY_HEALTHCHECK_PATH', path: '/ready', uptime: undefined, content: 'ok', attempts: 4, timeoutS: 5, waitS: 5, initialDelayS: 0 });
  assert.deepEqual(configHealthcheck({ SLIPWAY_HEALTHCHECK_PATH: 'ready' }).problems, ['SLIPWAY_HEALTHCHECK_PATH must be a path starting with /']);
  assert.deepEqual(configHealthcheck({ SLIPWAY_HEALTHCHECK_PATH: '/', SLIPWAY_HEALTHCHECK_TIMEOUT: '-1' }).problems, ['SLIPWAY_HEALTHCHECK_TIMEOUT must be a number from 0 to 60']);
  const appJson = [{ name: 'a', path: '/a', attempts: 1, timeoutS: 1, waitS: 0, initialDelayS: 0 }];
  const env = { SLIPWAY_HEALTHCHECK_PATH: '/ready' };
  assert.deepEqual(checksFor('web', appJson, env).map((c) => c.name), ['a', 'SLIPWAY_HEALTHCHECK_PATH'], 'web: app.json and the config vars');
  assert.deepEqual(checksFor('worker', appJson, env).map((c) => c.name), ['a'], 'other types: app.json only');
  assert.deepEqual(checksFor('web', null, {}), []);
});

test('when an app.json lists many slow startup checks, then the build says so and a deploy waits for them at most MAX_CHECKS_S', async () => {
  const slow = { path: '/ready', attempts: 20, timeout: 60, wait: 60, initialDelay: 300 };
  const dir = await mkdtemp(join(tmpdir(), 'slipway-checks-'));
  try {
    await writeFile(join(dir, 'app.json'), JSON.stringify({ healthchecks: { web: Array(20).fill(slow), worker: [{ uptime: 600 }] } }));
    const said: string[] = [];
    const manifest = await readAppJson(dir, (l) => void said.push(l));
    const all = Object.values(manifest.healthchecks).flat();
    assert.equal(all.length, 21);
    assert.equal(checksWorstCaseS(all), 20 * (300 + 20 * 120) + 600 + 3 * (5 + 5), "an uptime check also has its default attempts");
    assert.deepEqual(said, [` !     app.json: the startup checks could take ${20 * 2700 + 630} s in all; a deploy waits at most 900 s for them`]);
    const boot = 60_000;
    assert.equal(verifyBudgetMs(boot, all) - verifyBudgetMs(boot, []), MAX_CHECKS_S * 1000);
    assert.equal(verifyBudgetMs(boot, [all[20]]) - verifyBudgetMs(boot, []), 630_000, 'under the cap: what the checks may take');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
