/**
 * The real Heroku CLI (heroku@11.10.0, installed by `npm run setup` into the test cache, not a product
 * dependency) against a real `slipway up`, in an isolated HOME: every command of the compatibility list exits 0
 * and prints the right data.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { FIXTURES } from '../helpers/platform.js';
import { requestWithHost } from '../helpers/http.js';
import { freePort, processesMentioning, waitFor } from '../helpers/procs.js';
import { cleanEnv, slipway, startUp, type Up } from '../helpers/slipway.js';
import { issue, makeCa, type TestCert } from '../helpers/certs.js';
import { startAcmeStandIn, type AcmeStandIn } from '../helpers/acme-standin.js';
import { startTestDns, type TestDns } from '../helpers/dns-server.js';
import { challengeRecord, challengeValue } from '../../server/domains/ownership.js';
import { connect as tlsConnect } from 'node:tls';

const HEROKU = '/var/cache/slipway-test/heroku-cli/node_modules/.bin/heroku';
const run = promisify(execFile);

let up: Up;
let dataDir: string;
let apiPort: number;
let routerPort: number;
let routerTlsPort: number;
let certDir: string;
let root: TestCert;
let acmeCa: AcmeStandIn;
let dns: TestDns;
let adminToken: string;
let env: Record<string, string>;

before(async () => {
  await stat(HEROKU).catch(() => {
    throw new Error(`the Heroku CLI is not at ${HEROKU}: run npm run setup as root (it installs heroku@11.10.0 there)`);
  });
  dataDir = await mkdtemp(join(tmpdir(), 'slipway-heroku-'));
  await mkdir(join(dataDir, 'home'));
  [apiPort, routerPort, routerTlsPort] = [await freePort(), await freePort(), await freePort()];
  // HTTPS on the API port too: the Heroku CLI's git remotes are https://HOST:PORT/APP.git.
  // Automatic certificates come from a test stand-in ACME server on loopback (no public one is reachable here).
  certDir = await mkdtemp(join(dataDir, 'certs-'));
  root = await makeCa(certDir);
  acmeCa = await startAcmeStandIn({ ca: root, dir: certDir, routerPort: () => routerPort });
  // Names resolve through a stand-in DNS server on loopback too (the world's DNS is not reachable here).
  dns = await startTestDns();
  up = startUp(['--data-dir', dataDir, '--api-port', String(apiPort), '--router-port', String(routerPort), '--router-tls-port', String(routerTlsPort)],
    cleanEnv({ HOME: join(dataDir, 'home'), SLIPWAY_TLS: 'self-signed', SLIPWAY_ACME_DIRECTORY: acmeCa.directoryUrl, SLIPWAY_ACME_INTERVAL: '1', SLIPWAY_DNS_SERVERS: dns.address }));
  [, adminToken] = await up.waitForOutput(/Admin API token\s+(slw_\S+)/);
  await up.waitForOutput(/Press Ctrl-C to stop/);
  const host = `http://127.0.0.1:${apiPort}`;
  env = cleanEnv({
    HOME: join(dataDir, 'home'), HEROKU_HOST: host, HEROKU_PARTICLEBOARD_URL: host, DISABLE_TELEMETRY: 'true',
    HEROKU_BUILDPACK_REGISTRY_URL: `${host}/buildpack-registry`,
    HEROKU_DISABLE_AUTOUPDATE: '1', HEROKU_SKIP_NEW_VERSION_CHECK: 'true', NO_COLOR: '1', FORCE_COLOR: '0',
    XDG_CONFIG_HOME: join(dataDir, 'home', '.config'), XDG_CACHE_HOME: join(dataDir, 'home', '.cache'), XDG_DATA_HOME: join(dataDir, 'home', '.local'),
    // `heroku run` opens TLS to the rendezvous, and git's credential helper is `!heroku git:credentials`.
    NODE_EXTRA_CA_CERTS: join(dataDir, 'tls', 'self-signed.crt'), GIT_SSL_CAINFO: join(dataDir, 'tls', 'self-signed.crt'), GIT_TERMINAL_PROMPT: '0',
    PATH: `${dirname(HEROKU)}:${process.env.PATH}`,
  });
  delete env.HEROKU_API_KEY;
  const made = await slipway(['users:create', 'dora@example.com'], { ...env, SLIPWAY_API_URL: host, SLIPWAY_API_KEY: adminToken }, 'dora-password\n');
  assert.equal(made.code, 0, made.stderr);
});
after(async () => {
  await up?.stop('SIGTERM');
  await acmeCa?.close();
  await dns?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** A prompt the CLI shows, and what a person types once it is there. */
type Answer = [prompt: RegExp, line: string];

/** Runs heroku ARGS; each answer is typed when its prompt appears (not on a timer: a busy machine is slow to prompt). */
function heroku(args: string[], input: Answer[] = [], cwd?: string): Promise<{ code: number | null; out: string; err: string }> {
  return answering(HEROKU, args, input, cwd);
}

/** heroku ARGS on a pseudo-terminal (Python's pty.spawn, given the argv as a list), as a person at a terminal runs it. */
function herokuOnTerminal(args: string[], input: Answer[]): Promise<{ code: number | null; out: string; err: string }> {
  const onPty = 'import os, pty, sys; sys.exit(os.waitstatus_to_exitcode(pty.spawn(sys.argv[1:])))';
  return answering('python3', ['-c', onPty, HEROKU, ...args], input);
}

function answering(file: string, args: string[], input: Answer[], cwd?: string): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    let i = 0;
    let seen = 0; // output already answered
    const typing = setInterval(() => {
      if (i >= input.length) {
        clearInterval(typing);
        return void child.stdin.end();
      }
      const shown = out + err;
      if (!input[i][0].test(shown.slice(seen))) return;
      seen = shown.length;
      // The prompt is drawn once it listens; a moment more for its raw-mode set-up.
      setTimeout(() => child.stdin.write(`${input[i++][1]}\n`), 200);
    }, 300);
    child.on('exit', (code) => {
      clearTimeout(timer);
      clearInterval(typing);
      resolve({ code, out, err });
    });
  });
}

/** heroku ARGS with some of the environment changed; its output, having exited 0. */
async function runWith(args: string[], extra: Record<string, string>): Promise<string> {
  const saved = env;
  env = { ...env, ...extra };
  try {
    return await ok(args);
  } finally {
    env = saved;
  }
}

async function ok(args: string[], input?: Answer[]): Promise<string> {
  const r = await heroku(args, input);
  assert.equal(r.code, 0, `heroku ${args.join(' ')} exited ${r.code}\nstdout: ${r.out}\nstderr: ${r.err}`);
  return `${r.out}\n${r.err}`; // oclif's spinners ("Creating hk-app... done") write to stderr
}

test('when a user logs in with heroku login -i, then auth:whoami names them and the token is in ~/.netrc', async () => {
  const out = await ok(['login', '-i'], [[/Email/, 'dora@example.com'], [/Password/, 'dora-password']]);
  assert.match(out + '', /Logged in as dora@example\.com/);
  assert.match(await readFile(join(dataDir, 'home', '.netrc'), 'utf8'), new RegExp(`machine 127\\.0\\.0\\.1:${apiPort}\\s+login dora@example\\.com\\s+password slw_`));
  assert.equal((await heroku(['auth:whoami'])).out.trim(), 'dora@example.com');
  const bad = await heroku(['login', '-i'], [[/Email/, 'dora@example.com'], [/Password/, 'wrong-password']]);
  assert.notEqual(bad.code, 0);
});

test('when apps are created, listed, shown and configured with the Heroku CLI, then each prints Slipway\'s data', async () => {
  const created = await ok(['apps:create', 'hk-app']);
  assert.match(created, /Creating hk-app\.\.\. done/);
  assert.match(created, new RegExp(`http://hk-app\\.localhost:${routerPort}/ \\| https://127\\.0\\.0\\.1:${apiPort}/hk-app\\.git`));
  assert.match(await ok(['apps']), /=== dora@example\.com Apps[\s\S]*hk-app/);
  const info = await ok(['apps:info', '-a', 'hk-app']);
  assert.match(info, /=== hk-app/);
  assert.match(info, /Owner:\s+dora@example\.com/);
  assert.match(info, new RegExp(`Web URL:\\s+http://hk-app\\.localhost:${routerPort}/`));
  assert.match(await ok(['config:set', 'GREETING=hola', 'MODE=test', '-a', 'hk-app']), /Setting GREETING, MODE and restarting hk-app\.\.\. done, v\d/);
  const config = await ok(['config', '-a', 'hk-app']);
  assert.match(config, /GREETING:\s+hola/);
  assert.match(config, /MODE:\s+test/);
  assert.match(await ok(['config:unset', 'MODE', '-a', 'hk-app']), /Unsetting MODE and restarting hk-app\.\.\. done, v\d/);
  assert.doesNotMatch(await ok(['config', '-a', 'hk-app']), /MODE/);
  const bad = await heroku(['config:set', 'BAD-KEY=1', '-a', 'hk-app']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.err, /Invalid config var name/);
});

test('when code is pushed, then heroku ps, ps:scale, releases, releases:rollback and logs see the dynos and releases', async () => {
  const src = join(dataDir, 'src');
  await cp(join(FIXTURES, 'procfile-shell'), src, { recursive: true });
  const git = (args: string[]) => run('git', args, { cwd: src, env: { ...env, GIT_AUTHOR_NAME: 'd', GIT_AUTHOR_EMAIL: 'd@example.com', GIT_COMMITTER_NAME: 'd', GIT_COMMITTER_EMAIL: 'd@example.com' } });
  await git(['init', '-q', '-b', 'main']);
  await git(['add', '-A']);
  await git(['commit', '-q', '-m', 'first']);
  const token = (await readFile(join(dataDir, 'home', '.netrc'), 'utf8')).match(/password (\S+)/)![1];
  // The remote the Heroku CLI makes, pushed to over HTTPS (trusting the self-signed certificate `slipway up` made).
  const remote = await heroku(['git:remote', '-a', 'hk-app'], [], src);
  assert.equal(remote.code, 0, remote.err);
  assert.equal((await git(['remote', 'get-url', 'heroku'])).stdout.trim(), `https://127.0.0.1:${apiPort}/hk-app.git`);
  const basic = Buffer.from(`dora@example.com:${token}`).toString('base64');
  const push = await run('git', ['-c', `http.extraHeader=Authorization: Basic ${basic}`, 'push', 'heroku', 'main'], {
    cwd: src, env: { ...env, GIT_SSL_CAINFO: join(dataDir, 'tls', 'self-signed.crt'), GIT_TERMINAL_PROMPT: '0' },
  });
  assert.match(push.stderr, /Released v3/);

  await waitFor('web.1 up in heroku ps', async () => /web\.1: up /.test((await heroku(['ps', '-a', 'hk-app'])).out), 60_000, 500);
  assert.match(await ok(['ps:scale', 'web=2', '-a', 'hk-app']), /Scaling dynos\.\.\. done, now running web at 2:Standard-1X/i);
  await waitFor('web.2 up in heroku ps', async () => {
    const ps = (await heroku(['ps', '-a', 'hk-app'])).out;
    return /web\.1: up /.test(ps) && /web\.2: up /.test(ps) && /=== web \(Standard-1X\): python3 -m http\.server \$PORT \(2\)/i.test(ps);
  }, 60_000, 500);
  assert.equal((await requestWithHost(routerPort, 'hk-app.localhost')).status, 200);

  const releases = await ok(['releases', '-a', 'hk-app']);
  assert.match(releases, /=== hk-app Releases - Current: v3/);
  assert.match(releases, /v3\s+Deploy [0-9a-f]{7}\s+dora@example\.com/);
  assert.match(releases, /v2\s+Remove MODE config vars\s+dora@example\.com/);
  assert.match(await ok(['config:set', 'MODE=prod', '-a', 'hk-app']), /done, v4/);
  const back = await heroku(['releases:rollback', 'v3', '-a', 'hk-app']);
  assert.equal(back.code, 0, back.err);
  assert.match(back.out + back.err, /Rolling back hk-app to v3\.\.\. done, v5/);
  assert.doesNotMatch(await ok(['config', '-a', 'hk-app']), /MODE/);
  assert.match(await ok(['releases', '-a', 'hk-app']), /v5\s+Rollback to v3\s+dora@example\.com/);

  await waitFor('router lines in heroku logs', async () => {
    await requestWithHost(routerPort, 'hk-app.localhost', '/from-heroku-logs');
    const logs = (await heroku(['logs', '-n', '200', '-a', 'hk-app'])).out;
    return /slipway\[web\.1\]: State changed from starting to up/.test(logs) && /slipway\[router\]: at=info method=GET path="\/from-heroku-logs"/.test(logs);
  }, 30_000, 1000);
});

test('when releases:info, releases:output, ps:restart and ps:stop are given in each of their forms, then the Heroku CLI reaches what they mean', async () => {
  const info = await ok(['releases:info', 'v4', '-a', 'hk-app']);
  assert.match(info, /=== Release v4/);
  assert.match(info, /MODE:\s+prod/, 'the config vars that release was made with');
  // Its output (its deploy, verified), through the signed output_stream_url the CLI reads without a token.
  assert.match(await ok(['releases:output', 'v4', '-a', 'hk-app']), /Verifying deploy\.\.\. done/);
  const dynoIds = async () => (await (await fetch(`http://127.0.0.1:${apiPort}/apps/hk-app/dynos`, {
    headers: { authorization: `Bearer ${(await readFile(join(dataDir, 'home', '.netrc'), 'utf8')).match(/password (\S+)/)![1]}` },
  })).json() as { id: string; name: string; state: string }[]);
  const before = new Set((await dynoIds()).map((d) => d.id));
  const restart = await heroku(['ps:restart', '-p', 'web', '-a', 'hk-app']);
  assert.equal(restart.code, 0, restart.err);
  assert.match(restart.out + restart.err, /Restarting all web dynos on .*hk-app.*done/);
  await waitFor('both web dynos replaced and up', async () => {
    const now = await dynoIds();
    return now.filter((d) => d.state === 'up' && !before.has(d.id)).length === 2;
  }, 60_000, 500);
  const one = await heroku(['ps:restart', '--dyno-name', 'web.2', '-a', 'hk-app']);
  assert.equal(one.code, 0, one.err);
  const positional = await heroku(['ps:restart', 'web.1', '-a', 'hk-app']);
  assert.equal(positional.code, 0, positional.err);
  const noSuch = await heroku(['ps:restart', '-p', 'nosuch', '-a', 'hk-app']);
  assert.notEqual(noSuch.code, 0);
  assert.match(noSuch.err, /Couldn't find that/);
  const stop = await heroku(['ps:stop', '-p', 'web', '-a', 'hk-app']);
  assert.equal(stop.code, 0, stop.err);
  assert.match(stop.out + stop.err, /Stopping all web dynos on .*hk-app.*done/);
  // One dyno, by flag and by the older positional form; a name the app lacks is refused.
  for (const args of [['--dyno-name', 'web.1'], ['web.2']]) {
    const one = await heroku(['ps:stop', ...args, '-a', 'hk-app']);
    assert.equal(one.code, 0, one.err);
    assert.match(one.out + one.err, new RegExp(`Stopping dyno .*${args.at(-1)!.replace('.', '\\.')}.* on .*hk-app.*done`));
  }
  const noDyno = await heroku(['ps:stop', '--dyno-name', 'web.9', '-a', 'hk-app']);
  assert.notEqual(noDyno.code, 0);
});

test('when heroku run is used with a terminal, without one, with -x, and run:detached, then each runs in a one-off dyno over the Heroku CLI\'s own rendezvous and the exit status comes back', async () => {
  // Without a terminal: stdin piped (the CLI ends it with EOT), the dyno's status carried.
  const piped = await heroku(['run', '--no-tty', '-a', 'hk-app', '--', 'read line; echo "got:$line on $DYNO"; test -t 0 || echo no-tty; exit 3'], [[/up, run\.\d+/, 'hello from heroku run']]);
  assert.equal(piped.code, 3, `stdout: ${piped.out}\nstderr: ${piped.err}`);
  assert.match(piped.out, /got:hello from heroku run on run\.\d+/);
  assert.match(piped.out, /no-tty/);
  assert.match(piped.err, /Running .*read line.* on .*hk-app.*\.\.\. up, run\.\d+/);
  assert.doesNotMatch(piped.out, /rendezvous|heroku-command-exit-status/, 'the greeting and the marker are the CLI\'s, not output');
  // -x: the CLI appends its own marker echo; the status is the command's, once.
  const x = await heroku(['run', '-x', '--no-tty', '-a', 'hk-app', '--', 'echo before; false']);
  assert.equal(x.code, 1, `stdout: ${x.out}\nstderr: ${x.err}`);
  assert.match(x.out, /before/);
  assert.equal((await heroku(['run', '-x', '--no-tty', '-a', 'hk-app', '--', 'true'])).code, 0);

  // On a terminal: a shell on the dyno's own pseudo-terminal, typed into, exiting with its status.
  const shell = await herokuOnTerminal(['run', '-a', 'hk-app', 'bash'], [[/up, run\.\d+/, 'echo "tty:$(tty) sum:$((6*7))"'], [/sum:42/, 'exit 5']]);
  assert.equal(shell.code, 5, `stdout: ${shell.out}\nstderr: ${shell.err}`);
  assert.match(shell.out, /tty:\/dev\/pts\/\d+ sum:42/);

  // Detached: the output goes to the log, read back with the dyno's name the CLI printed.
  const detached = await ok(['run:detached', '-a', 'hk-app', '--', 'echo detached-on-$DYNO']);
  const [, name] = /Running .* on .*hk-app.*\.\.\. done, (run\.\d+)/.exec(detached) ?? [];
  assert.ok(name, detached);
  assert.match(detached, new RegExp(`heroku logs --app hk-app --dyno ${name.replace('.', '\\.')}`));
  await waitFor('the detached output in heroku logs', async () =>
    new RegExp(`app\\[${name.replace('.', '\\.')}\\]: detached-on-${name.replace('.', '\\.')}`).test((await heroku(['logs', '-a', 'hk-app', '--dyno', name])).out), 30_000, 1000);
});

test('when ps:type, maintenance, access, authorizations:create and domains:* are given, then each reaches Slipway and shows it', async () => {
  const typed = await ok(['ps:type', 'web=standard-2x', '-a', 'hk-app']);
  assert.match(typed, /web\s+Standard-2X\s+2/i);
  assert.match(await ok(['ps:type', 'standard-1x', '-a', 'hk-app']), /web\s+Standard-1X\s+2/i);
  const noType = await heroku(['ps:type', 'nosuch=standard-1x', '-a', 'hk-app']);
  assert.notEqual(noType.code, 0);
  assert.match(noType.err, /Type nosuch not found in process formation/);

  assert.match(await ok(['maintenance:on', '-a', 'hk-app']), /Enabling maintenance mode for .*hk-app.*\.\.\. done/);
  assert.equal((await ok(['maintenance', '-a', 'hk-app'])).trim(), 'on');
  await waitFor('the maintenance page', async () => (await requestWithHost(routerPort, 'hk-app.localhost')).status === 503, 10_000, 200);
  assert.match(await ok(['maintenance:off', '-a', 'hk-app']), /Disabling maintenance mode for .*hk-app.*\.\.\. done/);
  assert.equal((await ok(['maintenance', '-a', 'hk-app'])).trim(), 'off');

  const made = await slipway(['users:create', 'eve@example.com'], { ...env, SLIPWAY_API_URL: `http://127.0.0.1:${apiPort}`, SLIPWAY_API_KEY: adminToken }, 'eve-password\n');
  assert.equal(made.code, 0, made.stderr);
  assert.match(await ok(['access:add', 'eve@example.com', '-a', 'hk-app']), /Adding .*eve@example\.com.* access to the app .*hk-app.*\.\.\. done/);
  assert.match(await ok(['access', '-a', 'hk-app']), /eve@example\.com\s+collaborator/);
  assert.match(await ok(['access:remove', 'eve@example.com', '-a', 'hk-app']), /Removing .*eve@example\.com.* access from the app .*hk-app.*\.\.\. done/);
  assert.doesNotMatch(await ok(['access', '-a', 'hk-app']), /eve@example\.com/);

  const created = await ok(['authorizations:create', '-d', 'ci deploys']);
  const id = /ID:\s+(\S+)/.exec(created)?.[1];
  const token = /Token:\s+(slw_\S+)/.exec(created)?.[1];
  assert.ok(id && token, created);
  assert.match(created, /Description:\s+ci deploys/);
  assert.equal((await fetch(`http://127.0.0.1:${apiPort}/account`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
  assert.match(await ok(['authorizations:revoke', id]), /done, revoked authorization from .*ci deploys/);
  assert.equal((await fetch(`http://127.0.0.1:${apiPort}/account`, { headers: { authorization: `Bearer ${token}` } })).status, 401);

  await ok(['domains:add', 'a.hk.example', '-a', 'hk-app']);
  await ok(['domains:add', 'b.hk.example', '-a', 'hk-app']);
  const info = await ok(['domains:info', 'a.hk.example', '-a', 'hk-app']);
  assert.match(info, /hostname:\s+a\.hk\.example/);
  assert.match(info, /cname:\s+hk-app\.localhost/);
  await ok(['domains:wait', 'a.hk.example', '-a', 'hk-app']);
  const noCert = await heroku(['domains:update', 'a.hk.example', '--cert', 'nosuch-cert', '-a', 'hk-app']);
  assert.notEqual(noCert.code, 0);
  assert.match(noCert.err, /Couldn't find that SNI endpoint/);
  assert.match(await ok(['domains:remove', 'a.hk.example', '-a', 'hk-app']), /Removing .*a\.hk\.example.* from .*hk-app.*\.\.\. done/);
  assert.doesNotMatch(await ok(['domains', '-a', 'hk-app']), /a\.hk\.example/);
  await ok(['domains:clear', '-a', 'hk-app']);
  const left = await ok(['domains', '-a', 'hk-app']);
  assert.doesNotMatch(left, /b\.hk\.example/);
  assert.match(left, /hk-app\.localhost/, 'the app\'s own domain stays');

  // apps:open hands the web URL to the browser: the CLI's xdg-open, with no desktop here, runs $BROWSER, a
  // stand-in that writes down what it was given.
  const browser = join(dataDir, 'browser');
  await writeFile(browser, `#!/bin/sh\nprintf '%s\\n' "$1" > ${JSON.stringify(join(dataDir, 'opened'))}\n`, { mode: 0o755 });
  const opened = await runWith(['apps:open', '/some/path', '-a', 'hk-app'], { BROWSER: browser });
  assert.match(opened, new RegExp(`Opening http://hk-app\\.localhost:${routerPort}/some/path`));
  await waitFor('the browser stand-in called', async () => (await readFile(join(dataDir, 'opened'), 'utf8').catch(() => '')).trim() === `http://hk-app.localhost:${routerPort}/some/path`, 10_000, 100);
});

test('when git:clone -a APP is run, then the app\'s repository comes over https with the CLI\'s credential helper, and only for a user with access', async () => {
  const where = await mkdtemp(join(dataDir, 'clone-'));
  const cloned = await heroku(['git:clone', '-a', 'hk-app', 'copy'], [], where);
  assert.equal(cloned.code, 0, `stdout: ${cloned.out}\nstderr: ${cloned.err}`);
  assert.ok((await stat(join(where, 'copy', 'Procfile'))).isFile(), 'the pushed tree is checked out');
  assert.equal((await run('git', ['remote', 'get-url', 'heroku'], { cwd: join(where, 'copy') })).stdout.trim(), `https://127.0.0.1:${apiPort}/hk-app.git`);
  // Without credentials the same clone is refused: upload-pack is authenticated like receive-pack.
  const anonymous = await run('git', ['-c', 'credential.helper=', 'clone', '-q', `https://127.0.0.1:${apiPort}/hk-app.git`, join(where, 'anon')], { env: { ...env, HOME: where } }).then(() => 'cloned', (e: Error & { stderr: string }) => e.stderr);
  assert.match(anonymous, /Authentication failed|could not read Username|401/);
});

test('when apps:rename is run in a checkout, then the app answers under its new name, the git remote follows, and it can be renamed back', async () => {
  const src = join(dataDir, 'src');
  const renamed = await heroku(['apps:rename', 'hk-renamed', '-a', 'hk-app'], [], src);
  assert.equal(renamed.code, 0, renamed.err);
  assert.match(renamed.out + renamed.err, /Renaming .*hk-app.* to .*hk-renamed.*\.\.\. done/);
  assert.match(renamed.out, new RegExp(`http://hk-renamed\\.localhost:${routerPort}/ \\| https://127\\.0\\.0\\.1:${apiPort}/hk-renamed\\.git`));
  assert.match(renamed.out, /Git remote heroku updated/);
  assert.equal((await run('git', ['remote', 'get-url', 'heroku'], { cwd: src })).stdout.trim(), `https://127.0.0.1:${apiPort}/hk-renamed.git`);
  assert.match(await ok(['apps:info', '-a', 'hk-renamed']), /=== hk-renamed/);
  await ok(['apps:create', 'hk-other']);
  const taken = await heroku(['apps:rename', 'hk-other', '-a', 'hk-renamed']);
  assert.notEqual(taken.code, 0);
  assert.match(taken.err, /hk-other/);
  await ok(['apps:destroy', '-a', 'hk-other', '--confirm', 'hk-other']);
  const bad = await heroku(['apps:rename', 'Bad_Name!', '-a', 'hk-renamed']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.err, /name/i);
  const back = await heroku(['apps:rename', 'hk-app', '-a', 'hk-renamed'], [], src);
  assert.equal(back.code, 0, back.err);
  assert.equal((await run('git', ['remote', 'get-url', 'heroku'], { cwd: src })).stdout.trim(), `https://127.0.0.1:${apiPort}/hk-app.git`);
});

test('when logs --tail runs, then new router lines arrive while it runs', async () => {
  const child = spawn(HEROKU, ['logs', '--tail', '-a', 'hk-app'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  try {
    await waitFor(() => `a tailed router line (so far: ${JSON.stringify(out.slice(-500))}, ${JSON.stringify(err.slice(-500))})`, async () => {
      await requestWithHost(routerPort, 'hk-app.localhost', '/tailed-path');
      return /path="\/tailed-path"/.test(out);
    }, 30_000, 1000);
    assert.equal(child.exitCode, null, 'still following');
  } finally {
    child.kill('SIGTERM');
  }
});

test('when buildpacks are set, added, removed and cleared with the Heroku CLI, then each shows and a name the registry lacks is refused', async () => {
  assert.match(await ok(['buildpacks', '-a', 'hk-app']), /hk-app has no Buildpacks\./);
  assert.match(await ok(['buildpacks:set', 'heroku/procfile', '-a', 'hk-app']), /Buildpack set\. Next release on hk-app will use heroku\/procfile\./);
  await ok(['buildpacks:add', 'https://github.com/example/heroku-buildpack-extra', '-a', 'hk-app']);
  const two = await ok(['buildpacks', '-a', 'hk-app']);
  assert.match(two, /1\. heroku\/procfile\s+2\. https:\/\/github\.com\/example\/heroku-buildpack-extra/);
  await ok(['buildpacks:remove', 'https://github.com/example/heroku-buildpack-extra', '-a', 'hk-app']);
  assert.doesNotMatch(await ok(['buildpacks', '-a', 'hk-app']), /heroku-buildpack-extra/);
  const unknown = await heroku(['buildpacks:set', 'heroku/cobol', '-a', 'hk-app']);
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.err.replace(/\s*\n ›\s*/g, ' '), /no buildpack given \(the built-ins are heroku\/nodejs, heroku\/python/);
  await ok(['buildpacks:clear', '-a', 'hk-app']);
  assert.match(await ok(['buildpacks', '-a', 'hk-app']), /hk-app has no Buildpacks\./);
});

test('when certificates are added, listed, shown, updated and removed, and automatic ones enabled, with the Heroku CLI, then certs:* work and the router serves them by SNI', async () => {
  const dir = certDir;
  const leaf = await issue(dir, 'secure', root, { names: ['secure.hk.example'] });
  await ok(['domains:add', 'secure.hk.example', '-a', 'hk-app']);
  // certs:add asks which of the app's domains the certificate should serve: the space bar picks the one offered.
  const added = await heroku(['certs:add', leaf.certFile, leaf.keyFile, '-a', 'hk-app'], [[/Select domains/, ' ']]);
  assert.equal(added.code, 0, `stdout: ${added.out}\nstderr: ${added.err}`);
  const shown = added.out + added.err;
  assert.match(shown, /Adding SSL certificate to .*hk-app.*\.\.\. done/);
  assert.match(shown, /Common Name\(s\):\s+secure\.hk\.example/);
  assert.match(shown, /SSL certificate is not trusted\./, 'issued by a test CA no system trusts');
  assert.doesNotMatch(shown, /PRIVATE KEY/);
  const list = await ok(['certs', '-a', 'hk-app']);
  const name = /(hk-app-[0-9a-f]{6})/.exec(list)?.[1];
  assert.ok(name, list);
  assert.match(list, /secure\.hk\.example/);
  assert.match(await ok(['certs:info', '-a', 'hk-app']), /Subject:\s+CN=secure\.hk\.example/);
  const keyBody = leaf.key.split('\n').slice(1, 3).join('');
  assert.ok(!up.output().includes(keyBody) && !up.output().includes('PRIVATE KEY'), 'no private key in any log line of slipway up');
  const served = async () => new Promise<string>((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port: routerTlsPort, servername: 'secure.hk.example', ca: [root.cert], rejectUnauthorized: false }, () => {
      resolve(`${String(s.getPeerCertificate().subject?.CN)} ${s.getPeerCertificate().serialNumber}`);
      s.end();
    });
    s.on('error', reject);
  });
  const first = await waitFor('the uploaded certificate served', async () => ((await served().catch(() => '')).startsWith('secure.hk.example ') ? served() : undefined), 15_000, 200);

  const renewed = await issue(dir, 'secure-renewed', root, { names: ['secure.hk.example'] });
  assert.match(await ok(['certs:update', renewed.certFile, renewed.keyFile, '--confirm', 'hk-app', '-a', 'hk-app']), new RegExp(`Updating SSL certificate ${name} for .*hk-app.*\\.\\.\\. done`));
  await waitFor('the renewed certificate served', async () => (await served()) !== first, 15_000, 200);
  assert.match(await ok(['certs:remove', '--confirm', 'hk-app', '-a', 'hk-app']), new RegExp(`Removing SSL certificate ${name} from .*hk-app.*\\.\\.\\. done`));
  assert.match(await ok(['certs', '-a', 'hk-app']), /hk-app has no SSL certificates/);
  await waitFor('the platform certificate again', async () => (await served().catch(() => '')).startsWith('slipway '), 15_000, 200);

  // Automatic certificates, from the stand-in CA, shown by certs:auto: the name points at the app's DNS target and
  // holds its TXT proof (SLIPWAY_DOMAIN_VERIFICATION's default asks it of automatic certificates).
  const userToken = (await readFile(join(dataDir, 'home', '.netrc'), 'utf8')).match(/password (\S+)/)![1];
  const appId = ((await (await fetch(`http://127.0.0.1:${apiPort}/apps/hk-app`, { headers: { authorization: `Bearer ${userToken}` } })).json()) as { id: string }).id;
  assert.match(appId, /^[0-9a-f-]{36}$/);
  dns.a.set('hk-app.localhost', ['127.0.0.1']);
  dns.a.set('secure.hk.example', ['127.0.0.1']);
  dns.txt.set(challengeRecord('secure.hk.example'), [challengeValue(appId, 'secure.hk.example')]);
  assert.match(await ok(['certs:auto', '-a', 'hk-app']), /Automatic Certificate Management is disabled on .*hk-app/);
  assert.match(await ok(['certs:auto:enable', '-a', 'hk-app']), /Enabling Automatic Certificate Management\.\.\. starting/);
  let autoShown = '';
  await waitFor(() => `the automatic certificate issued (last certs:auto: ${autoShown})`, async () => /secure\.hk\.example\s+Cert issued/i.test(autoShown = await ok(['certs:auto', '-a', 'hk-app'])), 60_000, 1000);
  await waitFor('it served', async () => (await served().catch(() => '')).startsWith('secure.hk.example '), 15_000, 200);
  assert.match(await ok(['certs', '-a', 'hk-app']), /ACM/);
  assert.match(await ok(['certs:auto:disable', '--confirm', 'hk-app', '-a', 'hk-app']), /Disabling Automatic Certificate Management\.\.\. done/);

  assert.match(await ok(['features:enable', 'https-only', '-a', 'hk-app']), /Enabling https-only for .*hk-app.*\.\.\. done/);
  assert.match(await ok(['features', '-a', 'hk-app']), /\[\+\] https-only/);
  await waitFor('the redirect to https', async () => (await requestWithHost(routerPort, 'hk-app.localhost')).headers.location === `https://hk-app.localhost:${routerTlsPort}/`, 15_000, 200);
  await ok(['features:disable', 'https-only', '-a', 'hk-app']);
});

let keptRedis: string;
test('when addons:create heroku-postgresql, addons, addons:info, pg:info and addons:destroy are run with the Heroku CLI, then each reaches Slipway\'s add-ons', async () => {
  const created = await ok(['addons:create', 'heroku-postgresql:essential-0', '-a', 'hk-app']);
  assert.match(created, /Creating heroku-postgresql:essential-0 on .*hk-app\.\.\. free/);
  const name = /Created (postgresql-[a-z]+-\d+) as DATABASE_URL/.exec(created)?.[1];
  assert.ok(name, created);
  const redis = await ok(['addons:create', 'heroku-redis', '-a', 'hk-app']);
  keptRedis = /Created (redis-[a-z]+-\d+) as REDIS_URL/.exec(redis)?.[1] ?? '';
  assert.ok(keptRedis, redis);

  const list = await ok(['addons', '-a', 'hk-app']);
  assert.match(list, new RegExp(`heroku-postgresql \\(${name}\\)\\s+essential-0\\s+free\\s+free\\s+created`));
  assert.match(list, /heroku-redis \(redis-[a-z]+-\d+\)\s+mini/);
  assert.match(list, /as DATABASE/);
  const info = await ok(['addons:info', name!, '-a', 'hk-app']);
  assert.match(info, new RegExp(`=== ${name}`));
  assert.match(info, /Attachments:\s+hk-app::DATABASE/);
  assert.match(info, /Plan:\s+heroku-postgresql:essential-0/);
  assert.match(info, /State:\s+created/);
  assert.match(await ok(['config', '-a', 'hk-app']), /DATABASE_URL:\s+postgres:\/\/d[0-9a-f]+:/);

  // The CLI's pg commands talk to Heroku's data API host: here, the same API.
  const pg = await runWith(['pg:info', '-a', 'hk-app'], { HEROKU_DATA_HOST: '127.0.0.1' });
  assert.match(pg, /=== DATABASE_URL/);
  assert.match(pg, /Plan:\s+essential-0/);
  assert.match(pg, /Status:\s+Available/);
  assert.match(pg, /Data Size:\s+[\d.]+ MB \/ 1\.0 GB/);
  assert.match(pg, new RegExp(`Add-on:\\s+${name}`));

  // psql and redis-cli run in a one-off dyno of the app (the servers are reachable from the dyno network only).
  // This platform runs TLS, so the rendezvous takes TLS only: the CLI talks to the API over https (as its users would).
  const as = { ...env, SLIPWAY_API_URL: `https://127.0.0.1:${apiPort}`, SLIPWAY_API_KEY: (await heroku(['auth:token'])).out.trim() };
  const psql = await slipway(['pg:psql', '-c', 'SELECT 40 + 2 AS answer', '-a', 'hk-app'], as);
  assert.equal(psql.code, 0, psql.stderr);
  assert.match(psql.stdout, /answer\s*\n-+\s*\n\s*42/);
  const cli = await slipway(['redis:cli', '-a', 'hk-app'], as, 'SET greeting hola\nGET greeting\n');
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.stdout, /OK\s+hola/);

  const destroyed = await ok(['addons:destroy', name!, '-a', 'hk-app', '--confirm', 'hk-app']);
  assert.match(destroyed, new RegExp(`Destroying ${name} on .*hk-app\\.\\.\\. done`));
  assert.doesNotMatch(await ok(['addons', '-a', 'hk-app']), /heroku-postgresql/);
  assert.doesNotMatch(await ok(['config', '-a', 'hk-app']), /DATABASE_URL/);
});

test('when domains are added with the Heroku CLI, then heroku domains lists them and the router serves them; apps:destroy removes the app', async () => {
  assert.match(await ok(['domains:add', 'www.hk.example', '-a', 'hk-app']), /DNS Target hk-app\.localhost/);
  const domains = await ok(['domains', '-a', 'hk-app']);
  assert.match(domains, /=== hk-app Heroku Domain\s+hk-app\.localhost/);
  assert.match(domains, /=== hk-app Custom Domains[\s\S]*www\.hk\.example\s+CNAME\s+hk-app\.localhost/);
  await waitFor('the custom domain routed', async () => (await requestWithHost(routerPort, 'www.hk.example')).status === 200, 5000, 100);
  const taken = await heroku(['domains:add', 'hk-app.localhost', '-a', 'hk-app']);
  assert.notEqual(taken.code, 0);

  const destroyed = await heroku(['apps:destroy', '-a', 'hk-app', '--confirm', 'hk-app']);
  assert.equal(destroyed.code, 0, destroyed.err);
  assert.match(destroyed.err + destroyed.out, /Destroying hk-app \(including all add-ons\)\.\.\. done/);
  assert.doesNotMatch(await ok(['apps']), /hk-app/);
  const addon = await fetch(`http://127.0.0.1:${apiPort}/addons/${keptRedis}`, { headers: { authorization: `Bearer ${adminToken}` } });
  assert.equal(addon.status, 404, 'the app\'s Redis add-on went with it');
  await waitFor('no route for the destroyed app', async () => (await requestWithHost(routerPort, 'hk-app.localhost')).status === 404, 10_000, 200);
});

test('when a user lists its tokens and logs out with the Heroku CLI, then auth:token, authorizations and logout work and the token is revoked', async () => {
  const token = (await heroku(['auth:token'])).out.trim();
  assert.match(token, /^slw_/);
  assert.match(await ok(['authorizations']), /Heroku CLI login from/);
  assert.match(await ok(['logout']), /Logging out/);
  const after = await fetch(`http://127.0.0.1:${apiPort}/account`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(after.status, 401, 'heroku logout revoked the token, not only forgot it');
});

test('when slipway up stops after all this, then no dyno or process of it is left', async () => {
  const r = await up.stop('SIGTERM');
  assert.equal(r.code, 0, up.output().slice(-3000));
  assert.deepEqual(processesMentioning(dataDir), [], `processes left:\n${up.output().slice(-3000)}`);
  const containers = (await run('runc', ['--root', join(dataDir, 'run', 'runc'), 'list', '-q'])).stdout.trim();
  assert.equal(containers, '', 'no runc containers');
});
