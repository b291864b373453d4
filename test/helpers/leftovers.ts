/** What a dyno leaves on the machine, and the assertion that none of it is left. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { appChain, vethNames } from '../../runner/sandbox/network.js';

const run = promisify(execFile);

/** The runc container ids under a data dir's runc root. */
export async function containers(dataDir: string): Promise<string[]> {
  return (await run('runc', ['--root', join(dataDir, 'run', 'runc'), 'list', '-q'])).stdout.split('\n').filter(Boolean);
}

/** No container, netns, veth, cgroup or iptables chain of these dynos (of this app) is left on the machine. */
export async function assertDynosGone(appId: string, ids: string[]): Promise<void> {
  assert.ok(ids.length > 0);
  const netns = (await run('ip', ['netns', 'list'])).stdout;
  const links = (await run('ip', ['-o', 'link', 'show'])).stdout;
  const rules = (await run('iptables', ['-S'])).stdout;
  for (const id of ids) {
    assert.ok(!netns.includes(id), `netns ${id}`);
    assert.ok(!links.includes(`${vethNames(id).host}@`) && !links.includes(`${vethNames(id).host}:`), `veth of ${id}`);
    for (const controller of ['memory', 'pids', 'cpu,cpuacct', 'freezer']) {
      assert.equal(await stat(join('/sys/fs/cgroup', controller, 'slipway', id)).then(() => true, () => false), false, `${controller} cgroup of ${id}`);
    }
  }
  assert.ok(!rules.includes(appChain(appId)), `the app's iptables chain ${appChain(appId)}`);
}

/** After a stop: no container, netns, veth, cgroup, mount or address rule of these dynos is left on the machine. */
export async function assertNoDynoLeft(dataDir: string, appId: string, ids: string[]) {
  assert.deepEqual(await containers(dataDir), [], 'no runc containers');
  await assertDynosGone(appId, ids);
  assert.ok(!(await readFile('/proc/self/mountinfo', 'utf8')).includes(dataDir), 'no mount under the data dir');
  assert.deepEqual(await readdir(join(dataDir, 'run', 'dynos')).catch(() => []), [], 'no dyno dirs');
}

