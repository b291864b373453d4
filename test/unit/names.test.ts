import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAppName, parseEmail, randomAppName, RESERVED_APP_NAMES } from '../../server/names.js';

test('when an app name is well formed, then it is accepted as is', () => {
  for (const ok of ['ab', 'my-app', 'a1', 'quiet-river-4821', 'a'.repeat(30)]) assert.equal(parseAppName(ok), ok);
});

test('when an app name is malformed, then it is refused with a message naming the rule', () => {
  const bad = ['a', 'A-app', '1app', 'my_app', 'my app', 'app-', '-app', 'a'.repeat(31), 'app;rm -rf', '../etc', 'app.git',
    'caf\u00e9', 'app\n', '', '%2e%2e', 'x\u0000y', '--upload-pack=x'];
  for (const name of bad) {
    assert.throws(() => parseAppName(name), (e: { status: number; message: string }) => e.status === 422 && /lowercase letters/.test(e.message), name);
  }
  assert.throws(() => parseAppName(42), /must be a string/);
});

test('when an app name is reserved, then it is refused as reserved', () => {
  for (const name of ['api', 'git', 'www', 'admin', 'dashboard']) {
    assert.ok(RESERVED_APP_NAMES.has(name));
    assert.throws(() => parseAppName(name), /reserved/);
  }
});

test('when a random name is made, then it is a valid Heroku-style name', () => {
  for (let i = 0; i < 200; i++) {
    const name = randomAppName();
    assert.match(name, /^[a-z]+-[a-z]+-\d{4}$/);
    assert.equal(parseAppName(name), name);
  }
});

test('when an email is given, then it is lowercased or refused', () => {
  assert.equal(parseEmail('Bob@Example.COM'), 'bob@example.com');
  for (const bad of ['bob', 'bob@', '@x.com', 'a b@x.com', 'x@-x.com', 42, 'a"b@x.com']) assert.throws(() => parseEmail(bad), /valid address/);
});
