/** Health checks given by config vars: one web check, named for them, validated like app.json's. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checksFor, configHealthcheck } from '../../runner/health-check.js';

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
