/**
 * The router's front door rests on Node's own llhttp binding, which no public API exposes: these fail when the
 * Node running the tests has a binding that behaves otherwise (the router would then fall back to http.Server,
 * and the router tests would no longer be testing the front door).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { frontDoorProblem } from '../../router/llhttp.js';
import { inspectHeaders } from '../../router/headers.js';

test("when the router starts on this Node, then its parser binding carries the front door (no fallback)", () => {
  assert.equal(frontDoorProblem(), undefined);
});

test('when headers are inspected, then names match in any case, repeats are counted or joined, and other names are ignored', () => {
  const f = inspectHeaders([
    'HOST', 'a.example', 'host', 'b.example', 'Content-Length', '5', 'transfer-encoding', 'gzip', 'Transfer-Encoding', 'chunked',
    'connection', 'keep-alive', 'Connection', 'X-Foo', 'X-Request-ID', 'abc', 'Accept', 'application/json', 'Expect', '100-continue',
    'X-Hosts', 'nope', 'Content-Lengths', '9',
  ]);
  assert.deepEqual(f, {
    hosts: 2, host: 'b.example', contentLength: '5', transferEncoding: 'gzip, chunked', connection: 'keep-alive, X-Foo',
    requestId: 'abc', accept: 'application/json', expect: true,
  });
  assert.deepEqual(inspectHeaders([]), { hosts: 0, host: undefined, contentLength: undefined, transferEncoding: undefined, connection: undefined, requestId: undefined, accept: undefined, expect: false });
});
