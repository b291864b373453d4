import type { Command } from 'commander';
import { CliError } from '../api-client.js';
import { appOption, appPath, type Ctx } from '../context.js';


interface Formation { type: string; quantity: number; size: string; command: string }
interface Dyno {
  name: string; type: string; state: string; command: string; size: string; updated_at: string; restarts: number;
  release: { version: number };
  stats: { memory_bytes: number | null; memory_limit_bytes: number | null; cpu_seconds: number | null; pids: number | null };
}

/** Standard-1X, Performance-M: how Heroku prints sizes. */
const sizeLabel = (s: string) => s.replace(/(^|-)([a-z])/g, (_m, sep: string, c: string) => sep + c.toUpperCase()).replace(/x$/, 'X');

function ago(iso: string): string {
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.round(s / 60)}m`;
  if (s < 86400) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}

const stamp = (iso: string) => new Date(iso).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' +0000').replace(/-/g, '/');

/** `web=3`, `worker+1`, `web-2`, `web=2:standard-2x`, `web:performance-m`. */
export function parseScaleArg(arg: string, current: Formation[]): { type: string; quantity?: number; size?: string } {
  const m = /^([a-z0-9]+(?:-[a-z0-9]+)*)(?:([=+-])(\d{1,3}))?(?::([A-Za-z0-9-]+))?$/.exec(arg);
  if (!m || (!m[2] && !m[4])) throw new CliError(`${arg} is not a scale argument. Use TYPE=N, TYPE+N, TYPE-N, TYPE=N:SIZE or TYPE:SIZE.`);
  const [, type, op, n, size] = m;
  const out: { type: string; quantity?: number; size?: string } = { type };
  if (op) {
    const now = current.find((f) => f.type === type)?.quantity ?? 0;
    out.quantity = op === '=' ? Number(n) : op === '+' ? now + Number(n) : Math.max(0, now - Number(n));
  }
  if (size) out.size = size.toLowerCase();
  return out;
}

/**
 * Runs command in a one-off dyno of the app's current release, attached: its output here, what is typed there; the
 * exit status becomes this process's. A terminal on both ends gets one in the dyno too, sized like this one.
 */
export async function runAttached(ctx: Ctx, app: string, command: string, opts: { size?: string; env?: Record<string, string>; tty?: boolean } = {}): Promise<void> {
  const tty = opts.tty !== false && process.stdin.isTTY === true && process.stdout.isTTY === true;
  const env = { ...(tty ? { TERM: process.env.TERM || 'xterm-256color', COLUMNS: String(process.stdout.columns), LINES: String(process.stdout.rows) } : {}), ...opts.env };
  const dyno = await (await ctx.api()).post<{ name: string; attach_url: string }>(`${appPath(app)}/dynos`, {
    command, attach: true, force_no_tty: !tty, size: opts.size, env,
  });
  process.stderr.write(`Running ${command} on ${app}... up, ${dyno.name}\n`);
  if (tty) process.stdin.setRawMode(true);
  try {
    process.exitCode = await attach(dyno.attach_url, { stdin: process.stdin, write: (s) => process.stdout.write(s) }, { tls: ctx.cfg.apiUrl.startsWith('https:') });
  } finally {
    if (tty) process.stdin.setRawMode(false);
    process.stdin.pause();
    process.stdin.unref?.();
  }
}

export function registerDynos(program: Command, ctx: Ctx): void {
  program
    .command('ps')
    .description("list an app's dynos, grouped by process type, with their state and figures")
    .option(...appOption)
    .option('--json', 'print JSON')
    .action(async (opts: { app?: string; json?: boolean }) => {
      const name = await ctx.app(opts);
      const api = await ctx.api();
      const [dynos, formation] = await Promise.all([api.get<Dyno[]>(`${appPath(name)}/dynos`), api.get<Formation[]>(`${appPath(name)}/formation`)]);
      if (opts.json) return ctx.print(JSON.stringify(dynos, null, 2));
      if (dynos.length === 0) {
        const scaled = formation.filter((f) => f.quantity > 0);
        return ctx.print(scaled.length ? `No dynos on ${name} yet (starting: ${scaled.map((f) => `${f.type}=${f.quantity}`).join(' ')}).` : `No dynos on ${name}. Scale one with: slipway ps:scale web=1 -a ${name}`);
      }
      const types = [...new Set(dynos.map((d) => d.type))];
      for (const type of types) {
        const mine = dynos.filter((d) => d.type === type);
        ctx.print(`=== ${type} (${sizeLabel(mine[0].size)}): ${mine[0].command} (${mine.length})`);
        for (const d of mine) {
          const mem = d.stats.memory_bytes !== null && d.stats.memory_limit_bytes ? ` mem=${Math.round(d.stats.memory_bytes / 1048576)}M/${Math.round(d.stats.memory_limit_bytes / 1048576)}M` : '';
          const restarts = d.restarts ? ` restarts=${d.restarts}` : '';
          ctx.print(`${d.name}: ${d.state} ${stamp(d.updated_at)} (~ ${ago(d.updated_at)} ago) v${d.release.version}${mem}${restarts}`);
        }
        ctx.print('');
      }
    });

  program
    .command('ps:scale <changes...>')
    .alias('scale')
    .description('scale process types: web=3 worker=1, web+1, web=2:standard-2x')
    .option(...appOption)
    .action(async (changes: string[], opts: { app?: string }) => {
      const name = await ctx.app(opts);
      const api = await ctx.api();
      const current = await api.get<Formation[]>(`${appPath(name)}/formation`);
      const updates = changes.map((c) => parseScaleArg(c, current));
      const result = await api.patch<Formation[]>(`${appPath(name)}/formation`, { updates });
      ctx.print(`Scaling dynos... done, now running ${result.map((f) => `${f.type} at ${f.quantity}:${sizeLabel(f.size)}`).join(', ')}`);
    });

  program
    .command('ps:type <changes...>')
    .alias('ps:resize')
    .description('change dyno sizes: web=standard-2x worker=performance-m')
    .option(...appOption)
    .action(async (changes: string[], opts: { app?: string }) => {
      const name = await ctx.app(opts);
      const updates = changes.map((c) => {
        const m = /^([a-z0-9-]+)=([A-Za-z0-9-]+)$/.exec(c);
        if (!m) throw new CliError(`${c} is not TYPE=SIZE.`);
        return { type: m[1], size: m[2].toLowerCase() };
      });
      const result = await (await ctx.api()).patch<Formation[]>(`${appPath(name)}/formation`, { updates });
      ctx.print(`Resizing dynos... done: ${result.map((f) => `${f.type} ${sizeLabel(f.size)}`).join(', ')}`);
    });

  program
    .command('ps:restart [dyno]')
    .alias('restart')
    .description('restart all dynos, a process type (web) or one dyno (web.1); web dynos without downtime')
    .option(...appOption)
    .action(async (dyno: string | undefined, opts: { app?: string }) => {
      const name = await ctx.app(opts);
      await (await ctx.api()).delete(`${appPath(name)}/dynos${dyno ? `/${encodeURIComponent(dyno)}` : ''}`);
      ctx.print(`Restarting ${dyno ? `${dyno} dynos` : 'dynos'} on ${name}... done`);
    });

  program
    .command('ps:stop <dyno>')
    .alias('stop')
    .description('stop a dyno (web.1, run.2) or a type; dynos of the formation start again, one-offs end')
    .option(...appOption)
    .action(async (dyno: string, opts: { app?: string }) => {
      const name = await ctx.app(opts);
      await (await ctx.api()).post(`${appPath(name)}/dynos/${encodeURIComponent(dyno)}/actions/stop`);
      ctx.print(`Stopping ${dyno} ${/\./.test(dyno) ? 'dyno' : 'dynos'} on ${name}... done`);
    });

  program
    .command('logs')
    .description("show an app's log: dyno output, platform events, router lines")
    .option(...appOption)
    .option('-n, --num <lines>', 'how many lines of history', '100')
    .option('-t, --tail', 'keep following the log')
    .option('-d, --dyno <dyno>', 'only this dyno (web.1) or type (web)')
    .option('-s, --source <source>', 'only this source: app (dyno output), router, or slipway (platform events and router)')
    .action(async (opts: { app?: string; num: string; tail?: boolean; dyno?: string; source?: string }) => {
      const name = await ctx.app(opts);
      const api = await ctx.api();
      const lines = Number(opts.num);
      if (!Number.isInteger(lines) || lines < 0) throw new CliError(`--num must be a whole number, got ${opts.num}`);
      const session = await api.post<{ logplex_url: string }>(`${appPath(name)}/log-sessions`, { lines, tail: !!opts.tail, dyno: opts.dyno, source: opts.source });
      // The session URL carries its own credential; reach it through the API URL this CLI uses.
      const url = api.apiUrl + new URL(session.logplex_url).pathname;
      const res = await fetch(url);
      if (!res.ok || !res.body) throw new CliError(`Cannot read the log (HTTP ${res.status}).`);
      const decoder = new TextDecoder();
      let rest = '';
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        rest += decoder.decode(chunk, { stream: true });
        const parts = rest.split('\n');
        rest = parts.pop() ?? '';
        for (const l of parts) ctx.print(l);
      }
      if (rest) ctx.print(rest);
    });
}

/** The Heroku CLI's rendezvous protocol: a greeting line to drop, the session, then this marker and the status. */
const EXIT_MARKER = '\uFFFF heroku-command-exit-status: ';

/**
 * Joins stdin/stdout to an attach URL (rendezvous://HOST:PORT/SECRET); resolves with the dyno's exit status. Over
 * TLS when the API is reached over https (the platform then takes TLS only there), trusting what the API's https
 * is trusted by (the system's CAs and NODE_EXTRA_CA_CERTS). Stdin goes raw and ends when this side half-closes.
 */
export async function attach(attachUrl: string, io: { stdin: NodeJS.ReadableStream; write: (s: Buffer | string) => void }, o: { tls?: boolean } = {}): Promise<number> {
  const m = /^rendezvous:\/\/([^/:]+|\[[^\]]+\]):(\d+)\/([A-Za-z0-9_-]+)$/.exec(attachUrl);
  if (!m) throw new CliError(`Unexpected attach URL from the API: ${attachUrl.replace(/\/[^/]+$/, '/…')}`);
  const host = m[1].replace(/^\[|\]$/g, '');
  const { connect } = await import('node:net');
  const { connect: connectTls } = await import('node:tls');
  const { isIP } = await import('node:net');
  return new Promise((resolve, reject) => {
    const start = () => {
      socket.write(`${m[3]}?stdin=raw\r\n`);
      io.stdin.pipe(socket);
    };
    const socket = o.tls
      ? connectTls({ host, port: Number(m[2]), ...(isIP(host) ? {} : { servername: host }) }, start)
      : connect({ host, port: Number(m[2]), allowHalfOpen: true }, start);
    let greeted = false;
    let tail = '';
    let status: number | undefined;
    socket.on('data', (d: Buffer) => {
      tail += d.toString('utf8');
      if (!greeted) {
        const nl = tail.indexOf('\n');
        if (nl < 0) return;
        greeted = true;
        tail = tail.slice(nl + 1);
      }
      // Hold back anything that may be the start of the exit marker; print the rest as it comes.
      const at = tail.indexOf('\uFFFF');
      if (at < 0) {
        io.write(tail);
        tail = '';
        return;
      }
      if (at > 0) io.write(tail.slice(0, at));
      tail = tail.slice(at);
      const done = new RegExp(`^${EXIT_MARKER}(\\d+)\\r?\\n`).exec(tail);
      if (done) {
        status = Number(done[1]);
        tail = '';
      }
    });
    // The agent closing its side means the dyno is done: stop sending stdin (a terminal never ends by itself).
    socket.on('end', () => {
      io.stdin.unpipe(socket);
      socket.end();
    });
    socket.on('error', (e) => reject(new CliError(`The dyno connection failed: ${e.message}`)));
    socket.on('close', () => {
      if (tail) io.write(tail);
      if (status === undefined) reject(new CliError('The dyno connection closed without an exit status.'));
      else resolve(status);
    });
  });
}

export function registerRun(program: Command, ctx: Ctx): void {
  const parseEnv = (pairs: string | undefined): Record<string, string> | undefined => {
    if (!pairs) return undefined;
    const env: Record<string, string> = {};
    for (const p of pairs.split(';').filter(Boolean)) {
      const i = p.indexOf('=');
      if (i <= 0) throw new CliError(`--env ${p} is not KEY=value.`);
      env[p.slice(0, i)] = p.slice(i + 1);
    }
    return env;
  };
  program
    .command('run <command...>')
    .description('run a one-off dyno of the current release, attached; exits with its status')
    .option(...appOption)
    .option('-s, --size <size>', 'dyno size (standard-1x, standard-2x, performance-m, …)')
    .option('-e, --env <pairs>', 'extra environment: "KEY=value;KEY2=value"')
    .option('--no-tty', 'no terminal in the dyno even when this is one')
    .allowUnknownOption(false)
    .action(async (command: string[], opts: { app?: string; size?: string; env?: string; tty?: boolean }) => {
      await runAttached(ctx, await ctx.app(opts), command.join(' '), { size: opts.size, env: parseEnv(opts.env), tty: opts.tty });
    });

  program
    .command('run:detached <command...>')
    .description('run a one-off dyno in the background; its output goes to the log')
    .option(...appOption)
    .option('-s, --size <size>', 'dyno size')
    .option('-e, --env <pairs>', 'extra environment: "KEY=value;KEY2=value"')
    .action(async (command: string[], opts: { app?: string; size?: string; env?: string }) => {
      const name = await ctx.app(opts);
      const dyno = await (await ctx.api()).post<{ name: string }>(`${appPath(name)}/dynos`, {
        command: command.join(' '), attach: false, size: opts.size, env: parseEnv(opts.env),
      });
      ctx.print(`Running ${command.join(' ')} on ${name}... up, ${dyno.name}`);
      ctx.print(`Run slipway logs -a ${name} -d ${dyno.name} to see its output.`);
    });
}
