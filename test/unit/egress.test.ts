import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeEgress, egressFromWords, parseEgressPolicy } from '../../platform/egress.js';
import { egressRuleset } from '../../runner/sandbox/egress.js';

test('when a policy is read from the API or the CLI, then addresses become CIDRs and anything else is refused by name', () => {
  assert.deepEqual(parseEgressPolicy({ policy: 'deny' }), { policy: 'deny' });
  assert.deepEqual(egressFromWords(['10.1.2.3:5432,6379', '192.168.0.0/16']), {
    policy: 'allowlist', rules: [{ cidr: '10.1.2.3/32', ports: [5432, 6379] }, { cidr: '192.168.0.0/16' }],
  });
  assert.throws(() => parseEgressPolicy({ policy: 'open' }), /policy must be allow, deny or allowlist/);
  assert.throws(() => parseEgressPolicy({ policy: 'allowlist', rules: [] }), /an allowlist needs rules/);
  assert.throws(() => egressFromWords(['10.0.0.0/33']), /not an IPv4 address or CIDR: "10.0.0.0\/33"/);
  assert.throws(() => egressFromWords(['10.0.0.1:http']), /not a port: "http"/);
  assert.throws(() => parseEgressPolicy({ policy: 'allowlist', rules: [{ cidr: '1.2.3.4; iptables -F' }] }), /not an IPv4 address or CIDR/);
  assert.deepEqual(describeEgress({ policy: 'allowlist', rules: [{ cidr: '10.0.0.0/8', ports: [443] }] }), ['allowlist:', '  10.0.0.0/8 ports 443']);
});

test('when a policy becomes rules, then allow loads nothing, and the others keep replies, the dyno network and their allowlist, then reject', () => {
  assert.equal(egressRuleset({ policy: 'allow' }, '10.213.0.0/16'), undefined);
  const deny = egressRuleset({ policy: 'deny' }, '10.213.0.0/16')!.split('\n');
  assert.ok(deny.includes('-A OUTPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT'));
  assert.ok(deny.includes('-A OUTPUT -d 10.213.0.0/16 -j ACCEPT'));
  assert.equal(deny.filter((l) => l.includes('REJECT')).length, 2);
  const list = egressRuleset({ policy: 'allowlist', rules: [{ cidr: '10.1.0.0/16', ports: [5432] }] }, '10.213.0.0/16')!;
  assert.match(list, /-A OUTPUT -d 10\.1\.0\.0\/16 -p tcp -m multiport --dports 5432 -j ACCEPT\n-A OUTPUT -d 10\.1\.0\.0\/16 -p udp/);
  assert.ok(list.indexOf('--dports 5432') < list.indexOf('REJECT'), 'accepts come before the rejects');
});
