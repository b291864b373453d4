/** The dashboard's pure modules (web/src/format.ts, web/src/paths.ts), under node. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ago, bytes, cpuPercents, duration, dynoSummary, sparkPoints } from '../../web/src/format.js';
import { href, parseRoute, TABS } from '../../web/src/paths.js';
import { parseAppName } from '../../server/names.js';

test('when hash routes are parsed, then apps, tabs and builds are found and anything else is "missing"', () => {
  assert.deepEqual(parseRoute(''), { page: 'apps' });
  assert.deepEqual(parseRoute('#/'), { page: 'apps' });
  assert.deepEqual(parseRoute('#/login'), { page: 'login' });
  assert.deepEqual(parseRoute('#/apps/my-app'), { page: 'app', app: 'my-app', tab: 'overview', build: undefined });
  assert.deepEqual(parseRoute('#/apps/my-app/logs/'), { page: 'app', app: 'my-app', tab: 'logs', build: undefined });
  const id = '0b5e7f0c-4a1d-4c7e-9d3f-2a6b8c1d0e9f';
  assert.deepEqual(parseRoute(`#/apps/my-app/builds/${id}`), { page: 'app', app: 'my-app', tab: 'builds', build: id });
  for (const bad of ['#/apps/my-app/nope', `#/apps/my-app/logs/${id}`, '#/apps/My-App', '#/apps/../x', '#/apps/a', '#/elsewhere', '#/apps/x/builds/123']) {
    assert.equal(parseRoute(bad).page, 'missing', bad);
  }
  for (const tab of TABS) assert.deepEqual(parseRoute(href.app('web-app', tab)), { page: 'app', app: 'web-app', tab, build: undefined });
  assert.deepEqual(parseRoute(href.build('web-app', id)), { page: 'app', app: 'web-app', tab: 'builds', build: id });
});

test('when a name is a valid app name for the API, then the dashboard routes it (and the other way round)', () => {
  for (const name of ['ab', 'my-app', 'a1-b2-c3', 'x'.repeat(30), 'a', 'x'.repeat(31), '1app', 'app_1', 'App']) {
    let api = true;
    try {
      parseAppName(name);
    } catch {
      api = false;
    }
    // The API also refuses reserved names and a trailing dash; the page just shows the API's 404 for those.
    if (api) assert.equal(parseRoute(`#/apps/${name}`).page, 'app', name);
    else if (!/-$/.test(name)) assert.equal(parseRoute(`#/apps/${name}`).page, 'missing', name);
  }
});

test('when figures are formatted, then times, durations and sizes read as a person expects', () => {
  const now = Date.parse('2026-01-01T12:00:00Z');
  assert.equal(ago('2026-01-01T12:00:02Z', now), 'just now');
  assert.equal(ago('2026-01-01T11:59:30Z', now), '30s ago');
  assert.equal(ago('2026-01-01T11:00:00Z', now), '1h ago');
  assert.equal(ago('2025-12-29T12:00:00Z', now), '3d ago');
  assert.equal(ago(null, now), '—');
  assert.equal(duration(1234), '1.2s');
  assert.equal(duration(75_000), '1m 15s');
  assert.equal(duration(3 * 3600_000 + 60_000), '3h 1m');
  assert.equal(duration(-1), '—');
  assert.equal(bytes(512), '512 B');
  assert.equal(bytes(10 * 1024 * 1024), '10 MB');
  assert.equal(bytes(1.5 * 1024 * 1024), '1.5 MB');
  assert.equal(bytes(null), '—');
  assert.equal(dynoSummary({ up: 2, crashed: 1, starting: 0 }), '2 up · 1 crashed');
  assert.equal(dynoSummary({}), 'no dynos');
});

test('when CPU seconds are sampled, then the chart gets percent of one core per interval, and points fit the box', () => {
  const samples = [
    { at: 0, memoryBytes: 1, cpuSeconds: 10 },
    { at: 5000, memoryBytes: 2, cpuSeconds: 12.5 },
    { at: 10_000, memoryBytes: 2, cpuSeconds: null },
    { at: 15_000, memoryBytes: 2, cpuSeconds: 13 },
  ];
  assert.deepEqual(cpuPercents(samples), [50, null, null]);
  assert.equal(sparkPoints([0, 50, 100], 100, 10, 100), '0.0,10.0 50.0,5.0 100.0,0.0');
  assert.equal(sparkPoints([null, 5], 10, 10), '10.0,0.0');
  assert.equal(sparkPoints([], 10, 10), '');
});
