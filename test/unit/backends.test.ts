/**
 * What keeps the platform answering sensibly when PostgreSQL or Redis goes away: the API's mapping of backend
 * errors to 503s, and `slipway up`'s restart of an embedded server that exits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Embedded } from '../../server/embedded/postgres.js';
import { createLogger } from '../../server/log.js';
import { unavailableBackend } from '../../server/unavailable.js';
import { keepEmbedded } from '../../server/up/keep-embedded.js';

test('errors from a database or queue that is away are named; anything else is not', () => {
  const err = (props: Record<string, unknown>) => Object.assign(new Error(String(props.message ?? '')), props);
  assert.equal(unavailableBackend(err({ code: 'ECONNREFUSED', syscall: 'connect' })), 'database');
  assert.equal(unavailableBackend(err({ code: 'ENOENT', syscall: 'connect' })), 'database');
  assert.equal(unavailableBackend(err({ code: '57P01', message: 'terminating connection due to administrator command' })), 'database');
  assert.equal(unavailableBackend(err({ code: '57P03', message: 'the database system is starting up' })), 'database');
  assert.equal(unavailableBackend(err({ message: 'Connection terminated unexpectedly' })), 'database');
  assert.equal(unavailableBackend(err({ name: 'MaxRetriesPerRequestError', message: 'Reached the max retries per request limit' })), 'redis');
  assert.equal(unavailableBackend(err({ message: 'Connection is closed.' })), 'redis');
  // Not an outage: a bug, a constraint, a missing file.
  assert.equal(unavailableBackend(err({ code: '23505', message: 'duplicate key value violates unique constraint' })), undefined);
  assert.equal(unavailableBackend(err({ code: 'ENOENT', syscall: 'open' })), undefined);
  assert.equal(unavailableBackend(new TypeError('x is not a function')), undefined);
  assert.equal(unavailableBackend(undefined), undefined);
});

/** A stand-in server: exit() ends it as a crash would; stop() as `slipway up` does on the way down. */
function fakeServer(pid: number) {
  let exit!: (v: { code: number | null; signal: NodeJS.Signals | null }) => void;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => (exit = r));
  let stopped = false;
  const server: Embedded & { crash(): void; stopped(): boolean } = {
    url: 'unix:///tmp/fake.sock',
    pid,
    exited,
    async stop() {
      stopped = true;
      exit({ code: 0, signal: null });
    },
    crash: () => exit({ code: null, signal: 'SIGKILL' }),
    stopped: () => stopped,
  };
  return server;
}

test('an embedded server that exits is started again on the same URL; stop() stops it for good', async () => {
  const lines: string[] = [];
  const log = createLogger('test', 'info', (l) => lines.push(l));
  const started: ReturnType<typeof fakeServer>[] = [];
  const kept = await keepEmbedded('Fake', async () => {
    const s = fakeServer(1000 + started.length);
    started.push(s);
    return s;
  }, log);
  assert.equal(kept.pid(), 1000);
  started[0]!.crash();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(kept.pid(), undefined, 'no pid while it is down');
  const until = Date.now() + 5000;
  while (started.length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  assert.equal(started.length, 2, 'started again within the first back-off (1 s)');
  assert.equal(kept.pid(), 1001);
  assert.equal(kept.url, 'unix:///tmp/fake.sock');
  assert.ok(lines.some((l) => l.includes('embedded Fake exited')), lines.join('\n'));

  await kept.stop();
  assert.ok(started[1]!.stopped(), 'the running server is stopped');
  await new Promise((r) => setTimeout(r, 1200));
  assert.equal(started.length, 2, 'nothing is started after stop()');
});

test('stop() during the back-off does not wait it out and starts nothing', async () => {
  let starts = 0;
  const first = fakeServer(1);
  const kept = await keepEmbedded('Fake', async () => (starts++ === 0 ? first : fakeServer(2)), createLogger('test', 'error', () => {}));
  first.crash();
  await new Promise((r) => setTimeout(r, 20));
  const t0 = Date.now();
  await kept.stop();
  assert.ok(Date.now() - t0 < 500, `stop() returned in ${Date.now() - t0} ms`);
  await new Promise((r) => setTimeout(r, 1200));
  assert.equal(starts, 1);
});
