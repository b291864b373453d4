/** Stand-ins for what lies outside the platform, in network namespaces the tests make (never a real outside address). */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { connect as connectTcp } from 'node:net';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

/**
 * A stand-in for something outside the platform: a TCP server at `address` inside a network namespace this test
 * makes, routed from the host through a veth pair (169.254.169.254: a cloud's metadata service; 198.18.0.1: any
 * outside service). The host reaches it, so a dyno finding it closed was refused.
 */
export async function outsideStandIn(address: string, tag: string) {
  const ns = `slwtest-${tag}-${process.pid}`;
  const [host, peer] = [`sw${tag}${process.pid % 100000}h`, `sw${tag}${process.pid % 100000}c`];
  const ip = (...args: string[]) => execFileP('ip', args);
  await ip('netns', 'add', ns);
  await ip('link', 'add', host, 'type', 'veth', 'peer', 'name', peer);
  await ip('link', 'set', peer, 'netns', ns);
  await ip('link', 'set', host, 'up');
  await ip('-n', ns, 'link', 'set', 'lo', 'up');
  await ip('-n', ns, 'link', 'set', peer, 'up');
  await ip('-n', ns, 'addr', 'add', `${address}/32`, 'dev', peer);
  await ip('-n', ns, 'route', 'add', 'default', 'dev', peer);
  await ip('route', 'add', `${address}/32`, 'dev', host);
  const server = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e',
    `for (const p of [8775, 8776]) require('net').createServer((s) => s.on('error', () => {}).end('outside\\n')).listen(p, '${address}', () => p === 8776 && console.log('ready'))`],
  { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    server.stdout!.once('data', () => resolve());
    server.once('exit', (code) => reject(new Error(`the stand-in exited: ${code}`)));
  });
  const fromHost = await new Promise<string>((resolve) => {
    const s = connectTcp(8775, address);
    s.on('data', (d) => resolve(d.toString().trim()));
    s.on('error', (e) => resolve(e.message));
  });
  assert.equal(fromHost, 'outside', 'the stand-in answers the host, so a closed result means the dyno was refused');
  return {
    async close() {
      server.kill('SIGKILL');
      await ip('route', 'del', `${address}/32`, 'dev', host).catch(() => undefined);
      await ip('link', 'del', host).catch(() => undefined);
      await ip('netns', 'del', ns).catch(() => undefined);
    },
  };
}

