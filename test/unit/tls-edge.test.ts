/** The pure parts of HTTPS at the edge and of the rendezvous: SNI choice, name coverage, HTTP/2 ↔ HTTP/1.1 headers, EOT. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { certificateFor } from '../../router/tls.js';
import { nodeVersionProblem } from '../../router/node-version.js';
import { h1Headers, h2Headers } from '../../router/h2-exchange.js';
import { nameCovers } from '../../server/certs/cert-check.js';
import { endAtEot, parseAttachLine } from '../../server/roles/rendezvous.js';
import type { Route, RouteCertificate } from '../../router/routes.js';

const cert = (id: string, names: string[], serves: string[] = []): RouteCertificate => ({ id, version: '1', chain: '', key: '', names, serves });
const route = (certificates?: RouteCertificate[]): Route => ({ appId: 'a', app: 'a', maintenance: false, endpoints: [], certificates });

test('when SNI names a host, then the certificate its domain is associated with wins, then one whose names cover it, else none', () => {
  const assoc = cert('assoc', ['www.example.com'], ['www.example.com']);
  const wild = cert('wild', ['*.example.com']);
  assert.equal(certificateFor(route([wild, assoc]), 'WWW.example.com')?.id, 'assoc');
  assert.equal(certificateFor(route([wild, assoc]), 'api.example.com')?.id, 'wild');
  assert.equal(certificateFor(route([wild]), 'a.b.example.com'), undefined, 'a wildcard covers one label only');
  assert.equal(certificateFor(route([cert('w', ['*.shop.example'], ['*.shop.example'])]), 'eu.shop.example')?.id, 'w', 'an app wildcard domain served by its certificate');
  assert.equal(certificateFor(route(), 'www.example.com'), undefined);
  assert.equal(certificateFor(undefined, 'www.example.com'), undefined);
});

test('when a certificate name is matched against a hostname, then exact names and one-label wildcards cover it', () => {
  assert.equal(nameCovers('www.example.com', 'WWW.EXAMPLE.COM'), true);
  assert.equal(nameCovers('*.example.com', 'www.example.com'), true);
  assert.equal(nameCovers('*.example.com', 'example.com'), false);
  assert.equal(nameCovers('*.example.com', 'a.b.example.com'), false);
  assert.equal(nameCovers('*.example.com', '*.example.com'), true, 'an app\'s wildcard domain, by the same wildcard');
  assert.equal(nameCovers('*.example.com', '*.shop.example.com'), false, 'but not a wildcard below it');
});

test('when an HTTP/2 request is forwarded, then :authority becomes Host, pseudo-headers go, cookie fields are joined, and a body without a length is chunked', () => {
  const raw = [':method', 'POST', ':path', '/x', ':authority', 'www.example.com', ':scheme', 'https', 'accept', '*/*', 'transfer-encoding', 'gzip'];
  assert.deepEqual(h1Headers(raw, true), ['host', 'www.example.com', 'accept', '*/*', 'transfer-encoding', 'chunked']);
  assert.deepEqual(h1Headers([...raw.slice(0, 8), 'content-length', '3'], true), ['host', 'www.example.com', 'content-length', '3']);
  assert.deepEqual(h1Headers([':authority', 'a.example', 'host', 'b.example'], false), ['host', 'b.example'], 'a Host the client sent is kept');
  assert.deepEqual(h1Headers([':authority', 'a.example', 'cookie', 'a=1', 'accept', '*/*', 'cookie', 'b=2'], false),
    ['host', 'a.example', 'accept', '*/*', 'cookie', 'a=1; b=2'], 'cookie fields split over HTTP/2 are one header to the dyno');
  assert.deepEqual(h2Headers(['Content-Type', 'text/plain', 'Connection', 'keep-alive', 'Set-Cookie', 'a=1', 'set-cookie', 'b=2', 'Transfer-Encoding', 'chunked']),
    { 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'] });
});

test('when a Heroku CLI attaches without a terminal, then stdin ends at EOT; the attach line names the secret and raw stdin', async () => {
  assert.deepEqual(parseAttachLine('abc'), { secret: 'abc', rawStdin: false });
  assert.deepEqual(parseAttachLine('abc?stdin=raw'), { secret: 'abc', rawStdin: true });
  let seen = 0;
  const s = endAtEot(() => seen++);
  const out: Buffer[] = [];
  s.on('data', (d: Buffer) => out.push(d));
  const ended = new Promise((r) => s.on('end', r));
  s.write(Buffer.from('hello\n'));
  s.write(Buffer.from('last\u0004ignored'));
  s.write(Buffer.from('more'));
  await ended;
  assert.equal(Buffer.concat(out).toString(), 'hello\nlast');
  assert.equal(seen, 1);
});

test('when the router starts on a Node with the HTTP/2 rapid-reset or CONTINUATION-flood flaw, then it is refused, naming the version to use', () => {
  for (const ok of ['v20.12.1', 'v20.20.2', 'v21.7.2', 'v22.0.0', 'v24.3.0', process.version]) assert.equal(nodeVersionProblem(ok), undefined, ok);
  assert.match(nodeVersionProblem('v20.8.0')!, /rapid reset.*use Node 20\.12\.1 or later/);
  assert.match(nodeVersionProblem('v20.12.0')!, /CONTINUATION flood\).*20\.12\.1/);
  assert.match(nodeVersionProblem('v21.7.1')!, /21\.7\.2/);
  assert.match(nodeVersionProblem('v18.20.4')!, /20\.12\.1/);
  assert.match(nodeVersionProblem('banana')!, /cannot read/);
});
