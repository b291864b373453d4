import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../server/config.js';
import { addonChain, allowAddonTraffic, createNetns, ensureBridge, listNetns, parseSubnet } from '../../runner/sandbox/network.js';
import { ociSpec } from '../../runner/sandbox/oci-spec.js';
import { reapDeadWorkers } from '../../runner/sandbox/reaper.js';
import { mintContainerName, ownerTag, type ContainerIdentity, type OwnerRole } from '../../platform/container-name.js';
import { createRunc } from '../../runner/sandbox/runc.js';
import { DYNO_GID, DYNO_UID, stackPath } from '../../runner/sandbox/stack.js';

let dir: string;
/** A name of the scheme as the process pid in role would have minted it. */
const nameBy = (who: ContainerIdentity, role: OwnerRole, pid: number) =>
  mintContainerName(who, role).replace(`-${ownerTag(role)}-`, `-${ownerTag(role, pid)}-`);
const STEP: ContainerIdentity = { app: 'myapp', release: { build: '3f2a9c10-0000-4000-8000-000000000000' }, process: 'build', index: 1 };
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'slipway-reaper-'));
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('when a worker died mid-build, then the next worker removes its containers, netns, addresses and dirs, and nothing else', async () => {
  const config = loadConfig();
  const rootfs = stackPath(config.stacksDir, 'run');
  assert.ok(existsSync(rootfs), `the run stack is missing at ${rootfs}: run npm run setup`);
  const dead = spawnSync('true').pid!; // a pid that has exited
  const state = join(dir, 'state');
  const runc = createRunc({ root: state, bundles: join(dir, 'bundles') });

  // A container the dead worker created (created, never started: as if killed mid-step).
  const id = nameBy(STEP, 'worker', dead);
  const bundle = join(dir, 'bundles', id);
  await mkdir(bundle, { recursive: true });
  await writeFile(join(bundle, 'config.json'), JSON.stringify(ociSpec({
    id, hostname: 'build', rootfs, args: ['/bin/sleep', '600'], env: { PATH: '/usr/bin:/bin' }, cwd: '/', uid: DYNO_UID, gid: DYNO_GID,
    memoryBytes: 64 << 20, cpuShares: 512, pidsLimit: 16, tmpBytes: 1 << 20, cgroupsPath: `/slipway/${id}`,
  })));
  // No pipes: the created container's init would hold them open.
  const created = spawnSync('runc', ['--root', state, 'create', '--bundle', bundle, id], { stdio: 'ignore', timeout: 20_000 });
  assert.equal(created.status, 0, 'runc create');
  assert.deepEqual((await runc.list()).map((c) => c.id), [id]);

  // Its network namespace, and dirs: the dead worker's, a live worker's, and someone else's.
  const network = { bridge: config.bridge, subnet: config.subnet, nat: config.nat };
  await ensureBridge(network);
  const address = config.subnet.replace(/\.\d+\/\d+$/, '.250');
  await createNetns(network, id, address);
  // Its release phase reached an add-on server: the rule must die with the worker, or the address's next holder gets it.
  await allowAddonTraffic(address, [{ host: parseSubnet(config.subnet).gateway, port: 15432 }]);
  const scratch = join(dir, 'scratch');
  const deadDir = join(scratch, `${nameBy({ ...STEP, index: 0 }, 'worker', dead)}-Ab12Cd`);
  const deadReleaseDir = join(scratch, `${nameBy({ app: 'myapp', release: { version: 4 }, process: 'release', index: 1 }, 'worker', dead)}-Xy12Zq`);
  const liveDir = join(scratch, `${mintContainerName({ ...STEP, index: 0 }, 'worker')}-Ef34Gh`);
  // A dyno's dir of an agent that is gone: the agent cleans its own, never a worker.
  const agentDir = join(scratch, nameBy({ app: 'myapp', release: { version: 4 }, process: 'web', index: 1 }, 'agent', dead));
  const legacyDir = join(scratch, `slipway-build-w${dead}-myapp-Gh56Ij`); // named as before this scheme: cleaned on upgrade
  const otherDir = join(scratch, 'somebody-elses-dir');
  for (const d of [deadDir, deadReleaseDir, liveDir, agentDir, legacyDir, otherDir]) await mkdir(d, { recursive: true });

  let released: string[] = [];
  const r = await reapDeadWorkers({ runc, scratchDirs: [scratch], releaseAddresses: async (owners) => ((released = owners), [address]) });
  assert.deepEqual(r.containers, [id]);
  assert.deepEqual(r.netns, [id]);
  assert.deepEqual(released, [id]);
  assert.deepEqual(r.dirs.sort(), [deadDir, deadReleaseDir, legacyDir].sort());
  assert.deepEqual(await runc.list(), []);
  assert.ok(!(await listNetns()).includes(id));
  const rules = (await promisify(execFile)('iptables', ['-S'])).stdout;
  assert.ok(!rules.includes(addonChain(address)), 'the dead release phase\'s add-on chain is gone');
  assert.equal(existsSync(deadDir), false);
  for (const kept of [liveDir, agentDir, otherDir]) assert.equal(existsSync(kept), true, `${kept} is kept`);
});
