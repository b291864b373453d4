import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHostname } from '../../server/domains/service.js';
import { normalizeHost } from '../../router/host.js';

test('when a hostname is well formed, then it is kept lowercase without a trailing dot', () => {
  assert.equal(parseHostname('www.example.com'), 'www.example.com');
  assert.equal(parseHostname('WWW.Example.COM.'), 'www.example.com');
  assert.equal(parseHostname('shop.example.co.uk'), 'shop.example.co.uk');
  assert.equal(parseHostname('*.example.com'), '*.example.com');
  assert.equal(parseHostname('xn--caf-dma.example'), 'xn--caf-dma.example');
  assert.equal(parseHostname(`${'a'.repeat(63)}.example.com`), `${'a'.repeat(63)}.example.com`);
});

test('when a hostname is not a bare DNS name, then it is refused with the reason', () => {
  const cases: [unknown, RegExp][] = [
    ['https://www.example.com', /scheme/],
    ['www.example.com/path', /bare host name/],
    ['user@example.com', /bare host name/],
    ['www.example.com:8080', /port/],
    ['127.0.0.1', /IP address/],
    ['[::1]', /IP address/],
    ['::1', /IP address/],
    ['café.example', /punycode/],
    ['example', /two labels/],
    ['*.com', /two labels/],
    ['www.*.example.com', /wildcard/],
    ['*example.com', /wildcard/],
    ['-bad.example.com', /invalid label/],
    ['bad-.example.com', /invalid label/],
    ['under_score.example.com', /invalid label/],
    [`${'a'.repeat(64)}.example.com`, /invalid label/],
    [`${'a.'.repeat(130)}com`, /longer than 253/],
    ['a..example.com', /invalid label/],
    ['example.123', /numeric/],
    ['www.example.com\n', /bare host name/],
    [' www.example.com', /bare host name/],
    ['x\u0000y.example.com', /punycode/],
    ['', /non-empty/],
    [42, /non-empty string/],
  ];
  for (const [input, reason] of cases) {
    assert.throws(() => parseHostname(input), (e: { status: number; message: string }) => e.status === 422 && reason.test(e.message), String(input));
  }
});

test('when the router reads a Host header, then case, port and a trailing dot do not matter and IPv6 literals name nothing', () => {
  assert.equal(normalizeHost('My-App.LocalHost:8080'), 'my-app.localhost');
  assert.equal(normalizeHost('my-app.localhost.'), 'my-app.localhost');
  assert.equal(normalizeHost('[::1]:80'), undefined);
  assert.equal(normalizeHost(undefined), undefined);
  assert.equal(normalizeHost('a'.repeat(301)), undefined);
});
