/** The one container naming scheme: what it mints, what it refuses, and whose a name is. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { agentMade, isDynoName, mintContainerName, ownedByGone, ownerOf, ownerTag } from '../../platform/container-name.js';

const WEB = { app: 'shop-2', release: { version: 12 }, process: 'web', index: 2 } as const;

test('when names are minted, then each reads prefix, app, release, process, index, owner and is new every time', () => {
  const a = mintContainerName(WEB, 'agent');
  assert.match(a, new RegExp(`^slipway-shop-2-v12-web-2-a${process.pid}-[a-z0-9]{6}$`));
  assert.notEqual(mintContainerName(WEB, 'agent'), a, 'a restart is a new container');
  const step = mintContainerName({ app: 'shop', release: { build: '1F3E2A9C-aaaa-4000-8000-000000000000' }, process: 'build', index: 3 }, 'worker');
  assert.match(step, new RegExp(`^slipway-shop-b1f3e2a9c-build-3-w${process.pid}-[a-z0-9]{6}$`));
  const phase = mintContainerName({ app: 'shop', release: { version: 4 }, process: 'release', index: 1 }, 'worker');
  assert.match(phase, /^slipway-shop-v4-release-1-w\d+-/);
  const oneOff = mintContainerName({ app: 'a-v2-b', release: { version: 3 }, process: 'background-job', index: 17 }, 'agent');
  assert.deepEqual(ownerOf(oneOff), { role: 'agent', pid: process.pid }, 'dashes in app and process do not confuse the owner');
});

test('when an identity is not nameable, then minting refuses it instead of making a name outside the scheme', () => {
  for (const bad of [
    { ...WEB, app: 'Shop' }, { ...WEB, app: '../x' }, { ...WEB, app: 'a b' },
    { ...WEB, process: 'web.1' }, { ...WEB, process: 'Web' }, { ...WEB, process: '' },
    { ...WEB, index: -1 }, { ...WEB, index: 1.5 }, { ...WEB, release: { version: -3 } }, { ...WEB, release: { build: 'not-hex!' } },
  ]) assert.throws(() => mintContainerName(bad as never, 'agent'), /cannot name a container/, JSON.stringify(bad));
});

test('when a name is read, then its owner is known only if it is of the scheme (or the one before it), dirs included', () => {
  const dyno = mintContainerName(WEB, 'agent');
  const step = mintContainerName({ ...WEB, process: 'build', release: { build: 'abcdef0123' } }, 'worker');
  assert.equal(isDynoName(dyno), true);
  assert.equal(isDynoName(step), false, 'a worker-made name is no dyno: a runner refuses it');
  assert.deepEqual(ownerOf(`${step}-Ab12Cd`), { role: 'worker', pid: process.pid }, 'a scratch dir made with mkdtemp');
  assert.deepEqual(ownerOf('slipway-build-w812-lx3k2a-4'), { role: 'worker', pid: 812 });
  assert.deepEqual(ownerOf('slipway-shop-v3-release-1-w812-mhz0a1b2'), { role: 'worker', pid: 812 });
  assert.equal(agentMade('slipway-d-shop-web-1-0a1b2c'), true);
  for (const other of ['slipway', 'slipway-shop', 'shop-v1-web-1-a1-abcdef', `${dyno}/..`, 'slipway-shop-v1-web-1-x1-abcdef', 'slipway0', 'postgres']) {
    assert.equal(ownerOf(other), undefined, other);
    assert.equal(agentMade(other), false, other);
  }
});

test('when a reaper asks, then only names of its role whose maker is gone are its to remove', () => {
  const dead = spawnSync('true').pid!;
  const by = (role: 'agent' | 'worker', pid: number) => mintContainerName(WEB, role).replace(`-${ownerTag(role)}-`, `-${ownerTag(role, pid)}-`);
  assert.equal(ownedByGone(by('worker', dead), 'worker'), true);
  assert.equal(ownedByGone(by('worker', process.pid), 'worker'), false, 'its own');
  assert.equal(ownedByGone(by('worker', 1), 'worker'), false, 'a maker that still runs');
  assert.equal(ownedByGone(by('agent', dead), 'worker'), false, 'another role');
  assert.equal(ownedByGone('somebody-else', 'worker'), false);
});
