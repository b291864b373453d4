import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../server/config.js';
import { configToEnv } from '../../server/config-env.js';
import { imagePushTarget } from '../../server/config-parse.js';

test('when nothing is set, then the documented defaults apply', () => {
  const c = loadConfig({});
  assert.equal(c.apiPort, 5050);
  assert.equal(c.routerPort, 8080);
  assert.equal(c.apiHost, '127.0.0.1');
  assert.equal(c.baseDomain, 'localhost');
  assert.equal(c.publicUrl, 'http://127.0.0.1:5050');
  assert.equal(c.databaseUrl, undefined);
  assert.equal(c.redisUrl, undefined);
  assert.equal(c.redisPrefix, 'slipway');
  if (c.isRoot) assert.equal(c.dataDir, '/var/lib/slipway');
});

test('when flags are given, then they win over the environment', () => {
  const c = loadConfig({ SLIPWAY_API_PORT: '6000', SLIPWAY_DATA_DIR: '/tmp/a' }, { apiPort: '7000', dataDir: '/tmp/b', routerPort: 9000 });
  assert.equal(c.apiPort, 7000);
  assert.equal(c.routerPort, 9000);
  assert.equal(c.dataDir, '/tmp/b');
  assert.equal(c.publicUrl, 'http://127.0.0.1:7000');
});

test('when a port is not a port, then loading fails naming the setting', () => {
  assert.throws(() => loadConfig({ SLIPWAY_API_PORT: 'abc' }), /SLIPWAY_API_PORT must be a port/);
  assert.throws(() => loadConfig({}, { routerPort: '70000' }), /router-port/);
});

test('when DATABASE_URL is malformed, then the error does not echo it (it may hold a password)', () => {
  assert.throws(
    () => loadConfig({ DATABASE_URL: 'postgres://u:s3cret@@:bad' + ' x' }),
    (e: Error) => /DATABASE_URL is not a valid URL/.test(e.message) && !e.message.includes('s3cret'),
  );
});

test('when the config is passed to a role, then the role reads back the same config', () => {
  const c = loadConfig({
    DATABASE_URL: 'postgres://x@h/db', REDIS_URL: 'unix:///tmp/r.sock', SLIPWAY_BASE_DOMAIN: 'Apps.Example.COM.', SLIPWAY_ADDON_WATCH_INTERVAL: '5',
    SLIPWAY_IMAGE_PUSH_URL: 'https://registry.example.com/team', SLIPWAY_IMAGE_PUSH_USER: 'u', SLIPWAY_IMAGE_PUSH_PASSWORD: 'p',
  }, { apiPort: 1234 });
  assert.equal(c.baseDomain, 'apps.example.com');
  const again = loadConfig(configToEnv(c));
  assert.deepEqual({ ...again, isRoot: c.isRoot, ci: c.ci, adminPassword: c.adminPassword }, c);
});

test('when the base domain or redis prefix is unsafe, then loading fails', () => {
  assert.throws(() => loadConfig({ SLIPWAY_BASE_DOMAIN: 'evil.com/x' }), /BASE_DOMAIN/);
  assert.throws(() => loadConfig({ SLIPWAY_REDIS_PREFIX: 'a b' }), /REDIS_PREFIX/);
});

test('when SLIPWAY_DYNO_SIZES limits the sizes, then GET /dyno-sizes (the dyno service) offers only those, in size order', async () => {
  const { createDynoService } = await import('../../server/dynos/service.js');
  const cfg = loadConfig({ SLIPWAY_DYNO_SIZES: 'standard-2x,eco' });
  // sizes() reads no database: the service is made without one.
  const sizes = createDynoService(undefined as never, undefined, { maxQuantity: 10, sizes: cfg.dynoSizes }).sizes().map((s) => s.name);
  assert.deepEqual(sizes, ['eco', 'standard-2x']);
  assert.equal(createDynoService(undefined as never).sizes().length, 6);
});

test('when SLIPWAY_AGENT_ADDRESS is set or not, then the agent reports it, or the host of the public URL; a bad one is named', () => {
  assert.equal(loadConfig({}).agentAddress, '127.0.0.1');
  assert.equal(loadConfig({ SLIPWAY_PUBLIC_URL: 'https://paas.example.com' }).agentAddress, 'paas.example.com');
  assert.equal(loadConfig({ SLIPWAY_AGENT_ADDRESS: '10.0.0.7' }).agentAddress, '10.0.0.7');
  assert.equal(loadConfig({ SLIPWAY_AGENT_ADDRESS: 'fd00::7' }).agentAddress, '[fd00::7]');
  assert.equal(configToEnv(loadConfig({ SLIPWAY_AGENT_ADDRESS: 'Node-2.internal' })).SLIPWAY_AGENT_ADDRESS, 'node-2.internal');
  assert.throws(() => loadConfig({ SLIPWAY_AGENT_ADDRESS: 'http://x' }), /SLIPWAY_AGENT_ADDRESS must be a host name or an IP address/);
  assert.throws(() => loadConfig({ SLIPWAY_AGENT_ADDRESS: 'a b' }), /SLIPWAY_AGENT_ADDRESS/);
});

test('when an external registry is configured, then its origin and namespace are read, and a URL with credentials or a bad path is refused without echoing it', () => {
  assert.equal(imagePushTarget({}), undefined);
  assert.deepEqual(imagePushTarget({ SLIPWAY_IMAGE_PUSH_URL: 'https://registry.example.com:5000/team/apps/', SLIPWAY_IMAGE_PUSH_USER: 'u', SLIPWAY_IMAGE_PUSH_PASSWORD: 'p' }),
    { origin: 'https://registry.example.com:5000', prefix: 'team/apps', user: 'u', password: 'p' });
  assert.equal(imagePushTarget({ SLIPWAY_IMAGE_PUSH_URL: 'http://127.0.0.1:5000' })!.prefix, '');
  assert.throws(() => imagePushTarget({ SLIPWAY_IMAGE_PUSH_URL: 'https://me:hunter2@registry.example.com' }), (e: Error) => !e.message.includes('hunter2') && /SLIPWAY_IMAGE_PUSH_USER/.test(e.message));
  assert.throws(() => imagePushTarget({ SLIPWAY_IMAGE_PUSH_URL: 'ftp://registry.example.com' }), /http\(s\)/);
  assert.throws(() => imagePushTarget({ SLIPWAY_IMAGE_PUSH_URL: 'https://registry.example.com/Team' }), /repository namespace/);
});

test('when SLIPWAY_OUTBOUND_ALLOW lists ranges, then they are read as egress rules read CIDRs, and a bad one is named', () => {
  assert.deepEqual(loadConfig({ SLIPWAY_OUTBOUND_ALLOW: '10.0.0.0/8, 192.168.1.5' }).outboundAllow, ['10.0.0.0/8', '192.168.1.5/32']);
  assert.deepEqual(loadConfig({}).outboundAllow, []);
  assert.throws(() => loadConfig({ SLIPWAY_OUTBOUND_ALLOW: '10.0.0.300' }), /SLIPWAY_OUTBOUND_ALLOW lists IPv4 CIDRs .*got "10\.0\.0\.300"/);
});
