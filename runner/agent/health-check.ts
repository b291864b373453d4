/**
 * Is a dyno ready: it accepts TCP on $PORT (Heroku's boot check, R10 past the boot timeout) and, during a deploy,
 * passes its app's startup checks (app.json `healthchecks`, Dokku's shape): an HTTP GET of a path answered with a
 * status below 400 (and holding `content` when given), tried `attempts` times `wait` seconds apart, each within
 * `timeout` seconds, after `initialDelay`; or an `uptime`: still running that many seconds after it started.
 * An app without app.json can give its web dynos one HTTP check by config vars (SLIPWAY_HEALTHCHECK_PATH, …).
 * The checks' shape and parsing are platform/health-check.ts; here they run.
 */
import { request } from 'node:http';
import { connect } from 'node:net';
import type { HealthCheck } from '../../platform/health-check.js';


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Whether host:port accepts a TCP connection before deadline, trying every 20 ms for the first 2 s (most apps
 * listen within them) and every 100 ms after, while alive() holds.
 */
export async function waitForPort(host: string, port: number, deadline: number, alive: () => boolean): Promise<boolean> {
  const started = Date.now();
  while (Date.now() < deadline && alive()) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host, port });
      s.setTimeout(1000, () => s.destroy());
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
      s.once('close', () => resolve(false));
    });
    if (ok) return true;
    await sleep(Date.now() - started < 2000 ? 20 : 100);
  }
  return false;
}

/** One GET: undefined when it passed, else why not. */
function httpOnce(host: string, port: number, c: HealthCheck): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = request({ host, port, path: c.path, method: 'GET', headers: { host: 'localhost', 'user-agent': 'slipway-healthcheck' }, timeout: c.timeoutS * 1000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body.length < 1_000_000 ? (body += d) : undefined));
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        if (status >= 400) return resolve(`GET ${c.path} answered ${status}`);
        if (c.content !== undefined && !body.includes(c.content)) return resolve(`GET ${c.path} answered ${status} without ${JSON.stringify(c.content.slice(0, 60))}`);
        resolve(undefined);
      });
      res.on('error', () => resolve(`GET ${c.path}: the answer broke off`));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve(`GET ${c.path}: ${e.message === 'timeout' ? `no answer within ${c.timeoutS} s` : e.message}`));
    req.end();
  });
}

/**
 * Runs the checks against a started dyno; undefined when all passed, else what failed (for the app's log and the
 * deploy's verdict). alive() false stops early: the dyno exited meanwhile.
 */
export async function runHealthChecks(host: string, port: number, checks: HealthCheck[], startedAt: number, alive: () => boolean): Promise<string | undefined> {
  for (const c of checks) {
    if (c.initialDelayS > 0) await sleep(c.initialDelayS * 1000);
    if (c.uptime !== undefined) {
      const left = startedAt + c.uptime * 1000 - Date.now();
      if (left > 0) await sleep(left);
      if (!alive()) return `check "${c.name}": the process did not stay up ${c.uptime} s`;
      continue;
    }
    if (!c.path) continue;
    let why: string | undefined;
    for (let attempt = 1; attempt <= c.attempts; attempt++) {
      if (!alive()) return `check "${c.name}": the process exited`;
      why = await httpOnce(host, port, c);
      if (!why) break;
      if (attempt < c.attempts) await sleep(c.waitS * 1000);
    }
    if (why) return `check "${c.name}" failed after ${c.attempts} attempt${c.attempts === 1 ? '' : 's'}: ${why}`;
  }
  return undefined;
}
