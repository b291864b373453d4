/**
 * Container networking: a bridge (slipway0) on a private subnet, one network namespace per container joined to it
 * by a veth pair, NAT for outbound traffic, and iptables rules in Slipway's own chains so containers cannot reach
 * the host itself (PostgreSQL, Redis, the API, anything listening there) or each other. All `ip` calls for one
 * namespace are batched (`ip -batch`): separate calls cost ≈ 54 ms.
 */
import type { AddonEndpoint } from '../../platform/addon-endpoint.js';
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface NetworkConfig {
  bridge: string; // slipway0
  /** e.g. 10.213.0.0/16; the gateway (the host's side) is the first address. */
  subnet: string;
  nat: boolean;
}

export interface Netns {
  name: string;
  path: string;
  address: string;
}

export function parseSubnet(cidr: string): { base: number; prefix: number; gateway: string; size: number } {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr);
  if (!m) throw new Error(`not an IPv4 subnet: ${cidr}`);
  const prefix = Number(m[5]);
  if (prefix < 8 || prefix > 28) throw new Error(`subnet prefix must be /8 to /28: ${cidr}`);
  const ip = [m[1], m[2], m[3], m[4]].map(Number).reduce((a, b) => a * 256 + b, 0);
  const size = 2 ** (32 - prefix);
  const base = ip - (ip % size);
  return { base, prefix, gateway: intToIp(base + 1), size };
}

export const intToIp = (n: number) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');

/** The address at offset i of the subnet (2 … size-2: 0 is the network, 1 the gateway, the last broadcast). */
export function addressAt(cidr: string, i: number): string {
  const s = parseSubnet(cidr);
  if (i < 2 || i > s.size - 2) throw new Error(`offset ${i} is outside ${cidr}`);
  return intToIp(s.base + i);
}

/** Interface names are at most 15 characters: sw + 10 hex of the netns name + h/c. */
export function vethNames(netnsName: string): { host: string; container: string } {
  const h = createHash('sha256').update(netnsName).digest('hex').slice(0, 10);
  return { host: `sw${h}h`, container: `sw${h}c` };
}

async function ipBatch(lines: string[][], netns?: string): Promise<void> {
  const args = [...(netns ? ['-n', netns] : []), '-batch', '-'];
  await new Promise<void>((resolve, reject) => {
    const child = spawn('ip', args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ip ${args.join(' ')} failed: ${err.trim()}`))));
    // Every word was validated by the caller (names we made, addresses we computed); ip reads one command per line.
    child.stdin.on('error', () => undefined); // EPIPE when ip exits unread: the close handler reports it
    child.stdin.end(lines.map((l) => l.join(' ')).join('\n') + '\n');
  });
}

type Family = 'iptables' | 'ip6tables';
const iptables = (args: string[], family: Family = 'iptables') => run(family, ['-w', '5', ...args]);
const hasRule = (table: string, chain: string, rule: string[], family: Family) =>
  iptables(['-t', table, '-C', chain, ...rule], family).then(() => true, () => false);
async function ensureRule(table: string, chain: string, rule: string[], position: 'append' | 'insert' = 'append', family: Family = 'iptables') {
  if (!(await hasRule(table, chain, rule, family))) await iptables(['-t', table, position === 'insert' ? '-I' : '-A', chain, ...rule], family);
}
async function ensureChain(table: string, chain: string, family: Family = 'iptables') {
  await iptables(['-t', table, '-N', chain], family).catch(() => undefined); // exists already
}

/** Link-local addresses: where clouds answer with the instance's metadata and credentials (169.254.169.254). */
export const LINK_LOCAL = '169.254.0.0/16';

/**
 * Bridged frames pass through iptables only with br_netfilter: without it, traffic between two dynos on the bridge
 * would never meet the rules that keep apps apart. Loaded if it is a module; a host without it refuses to run dynos.
 */
async function requireBridgeNetfilter(): Promise<void> {
  const knobs = ['/proc/sys/net/bridge/bridge-nf-call-iptables', '/proc/sys/net/bridge/bridge-nf-call-ip6tables'];
  const enable = () => Promise.all(knobs.map((k) => writeFile(k, '1\n')));
  await enable().catch(async () => {
    await run('modprobe', ['br_netfilter']).catch(() => undefined);
    await enable().catch((e: NodeJS.ErrnoException) => {
      throw new Error(`dynos of different apps cannot be kept apart on this host: br_netfilter is not available (${e.code ?? e.message}); load the br_netfilter kernel module`);
    });
  });
}

/** The bridge carries IPv4 only: no IPv6 on the host's side of it, and bridged or routed IPv6 from it dropped. */
async function closeIpv6(bridge: string): Promise<void> {
  await writeFile(`/proc/sys/net/ipv6/conf/${bridge}/disable_ipv6`, '1\n').catch(() => undefined); // no IPv6 on this host: nothing to close
  for (const chain of ['INPUT', 'FORWARD']) {
    await ensureRule('filter', chain, ['-i', bridge, '-j', 'DROP'], 'insert', 'ip6tables').catch(() => undefined);
  }
}

/** The bridge and the host rules; idempotent, so every agent start and every build may call it. */
export async function ensureBridge(c: NetworkConfig): Promise<void> {
  if (!/^[a-z][a-z0-9]{1,14}$/.test(c.bridge)) throw new Error(`bad bridge name: ${c.bridge}`);
  const s = parseSubnet(c.subnet);
  const exists = await run('ip', ['link', 'show', 'dev', c.bridge]).then(() => true, () => false);
  if (!exists) await ipBatch([['link', 'add', c.bridge, 'type', 'bridge']]);
  const addrs = (await run('ip', ['-4', '-o', 'addr', 'show', 'dev', c.bridge])).stdout;
  if (!addrs.includes(` ${s.gateway}/${s.prefix} `)) await ipBatch([['addr', 'add', `${s.gateway}/${s.prefix}`, 'dev', c.bridge]]);
  await ipBatch([['link', 'set', c.bridge, 'up']]);
  await writeFile('/proc/sys/net/ipv4/ip_forward', '1\n');

  const subnet = `${intToIp(s.base)}/${s.prefix}`;
  // Containers → the host itself: only replies to connections the host opened (the router reaching a dyno).
  await ensureChain('filter', 'SLIPWAY-INPUT');
  await ensureRule('filter', 'SLIPWAY-INPUT', ['-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT']);
  await ensureRule('filter', 'SLIPWAY-INPUT', ['-j', 'DROP']);
  await ensureRule('filter', 'INPUT', ['-i', c.bridge, '-j', 'SLIPWAY-INPUT'], 'insert');
  // Between containers: nothing (a container reaching another container is dropped); out of the machine: NAT.
  await ensureChain('filter', 'SLIPWAY-FORWARD');
  await ensureRule('filter', 'SLIPWAY-FORWARD', ['-i', c.bridge, '-o', c.bridge, '-j', 'DROP']);
  await ensureRule('filter', 'SLIPWAY-FORWARD', ['-o', c.bridge, '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT']);
  await ensureRule('filter', 'SLIPWAY-FORWARD', ['-i', c.bridge, '!', '-o', c.bridge, '-j', c.nat ? 'ACCEPT' : 'DROP']);
  await ensureRule('filter', 'SLIPWAY-FORWARD', ['-i', c.bridge, '-d', LINK_LOCAL, '-j', 'DROP'], 'insert');
  await ensureRule('filter', 'FORWARD', ['-j', 'SLIPWAY-FORWARD'], 'insert');
  await ensureChain('nat', 'SLIPWAY-POSTROUTING');
  await ensureRule('nat', 'SLIPWAY-POSTROUTING', ['-s', subnet, '!', '-o', c.bridge, '-j', 'MASQUERADE']);
  await ensureRule('nat', 'POSTROUTING', ['-j', 'SLIPWAY-POSTROUTING'], 'insert');
  await requireBridgeNetfilter();
  await closeIpv6(c.bridge);
}

/** ensureBridge once per caller (the first call's promise is shared; a failure lets the next call try again). */
export function bridgeOnce(c: NetworkConfig): () => Promise<void> {
  let ready: Promise<void> | undefined;
  return () => (ready ??= ensureBridge(c).catch((e) => {
    ready = undefined;
    throw e;
  }));
}

const NETNS_NAME = /^slipway-[a-z0-9][a-z0-9.-]{0,120}$/;

/** Throws unless name is a network namespace Slipway made (the only ones it may enter, change or delete). */
export function assertNetnsName(name: string): void {
  if (!NETNS_NAME.test(name)) throw new Error(`not a Slipway netns name: ${name}`);
}

/** A network namespace with one interface (eth0) on the bridge at address, and a default route via the gateway. */
export async function createNetns(c: NetworkConfig, name: string, address: string): Promise<Netns> {
  assertNetnsName(name);
  const s = parseSubnet(c.subnet);
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(address)) throw new Error(`bad address: ${address}`);
  const v = vethNames(name);
  await ipBatch([
    ['netns', 'add', name],
    ['link', 'add', v.host, 'type', 'veth', 'peer', 'name', v.container],
    ['link', 'set', v.container, 'netns', name],
    ['link', 'set', v.host, 'master', c.bridge],
    ['link', 'set', v.host, 'up'],
  ]).catch(async (e) => {
    await removeNetns(name);
    throw e;
  });
  // The host's end keeps no IPv6 address (inside, runc turns IPv6 off for the container: oci-spec.ts).
  await writeFile(`/proc/sys/net/ipv6/conf/${v.host}/disable_ipv6`, '1\n').catch(() => undefined);
  await ipBatch([
    ['link', 'set', 'lo', 'up'],
    ['link', 'set', v.container, 'name', 'eth0'],
    ['addr', 'add', `${address}/${s.prefix}`, 'dev', 'eth0'],
    ['link', 'set', 'eth0', 'up'],
    ['route', 'add', 'default', 'via', s.gateway],
  ], name).catch(async (e) => {
    await removeNetns(name);
    throw e;
  });
  return { name, path: `/var/run/netns/${name}`, address };
}

/** Removes the namespace (its veth pair goes with it). Only Slipway-named namespaces. */
export async function removeNetns(name: string): Promise<void> {
  assertNetnsName(name);
  await run('ip', ['netns', 'del', name]).catch(() => undefined);
  await run('ip', ['link', 'del', vethNames(name).host]).catch(() => undefined);
}

export async function listNetns(): Promise<string[]> {
  const out = (await run('ip', ['netns', 'list']).catch(() => ({ stdout: '' }))).stdout;
  return out.split('\n').map((l) => l.split(' ')[0]).filter((n) => NETNS_NAME.test(n));
}

/**
 * Dynos of one app may talk to each other; dynos of different apps may not. Each app has a chain SLIPWAY-A-<hash>
 * holding an ACCEPT per dyno address of the app; each dyno's source address jumps into its app's chain from
 * SLIPWAY-FORWARD, ahead of the rule dropping bridge-to-bridge traffic. Anything not accepted there falls through
 * to that drop.
 */
export function appChain(appId: string): string {
  return `SLIPWAY-A-${createHash('sha256').update(appId).digest('hex').slice(0, 12)}`;
}

function checkAddress(address: string): void {
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(address)) throw new Error(`bad address: ${address}`);
}

export async function allowAppTraffic(c: NetworkConfig, appId: string, address: string): Promise<void> {
  checkAddress(address);
  const chain = appChain(appId);
  await ensureChain('filter', chain);
  await ensureRule('filter', chain, ['-d', `${address}/32`, '-j', 'ACCEPT']);
  await ensureRule('filter', 'SLIPWAY-FORWARD', ['-i', c.bridge, '-o', c.bridge, '-s', `${address}/32`, '-j', chain], 'insert');
}

export async function removeAppTraffic(c: NetworkConfig, appId: string, address: string): Promise<void> {
  checkAddress(address);
  const chain = appChain(appId);
  await iptables(['-t', 'filter', '-D', 'SLIPWAY-FORWARD', '-i', c.bridge, '-o', c.bridge, '-s', `${address}/32`, '-j', chain]).catch(() => undefined);
  await iptables(['-t', 'filter', '-D', chain, '-d', `${address}/32`, '-j', 'ACCEPT']).catch(() => undefined);
  const left = (await iptables(['-t', 'filter', '-S', chain]).catch(() => ({ stdout: '' }))).stdout;
  if (!left.includes('-A ')) await iptables(['-t', 'filter', '-X', chain]).catch(() => undefined); // still referenced: kept
}

/**
 * Dynos reach the host only where an add-on server of their app listens: a chain SLIPWAY-S-<hash of the dyno's
 * address> holds an ACCEPT per endpoint, jumped to from SLIPWAY-INPUT by the dyno's source address, ahead of its
 * drop. Made before the dyno starts, removed when it stops; the endpoints are those of its release's attachments.
 */
export function addonChain(address: string): string {
  return `SLIPWAY-S-${createHash('sha256').update(address).digest('hex').slice(0, 12)}`;
}

export type { AddonEndpoint };

export async function allowAddonTraffic(address: string, endpoints: AddonEndpoint[]): Promise<void> {
  checkAddress(address);
  const chain = addonChain(address);
  await ensureChain('filter', chain);
  await iptables(['-t', 'filter', '-F', chain]);
  for (const e of endpoints) {
    checkAddress(e.host);
    if (!Number.isInteger(e.port) || e.port < 1 || e.port > 65535) throw new Error(`bad port: ${e.port}`);
    await iptables(['-t', 'filter', '-A', chain, '-d', `${e.host}/32`, '-p', 'tcp', '--dport', String(e.port), '-j', 'ACCEPT']);
  }
  await ensureRule('filter', 'SLIPWAY-INPUT', ['-s', `${address}/32`, '-j', chain], 'insert');
}

export async function removeAddonTraffic(address: string): Promise<void> {
  checkAddress(address);
  const chain = addonChain(address);
  await iptables(['-t', 'filter', '-D', 'SLIPWAY-INPUT', '-s', `${address}/32`, '-j', chain]).catch(() => undefined);
  await iptables(['-t', 'filter', '-F', chain]).catch(() => undefined);
  await iptables(['-t', 'filter', '-X', chain]).catch(() => undefined);
}
