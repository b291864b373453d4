/**
 * bench/router: a trivial upstream, then the same load straight to it, through nginx (Debian's, one worker,
 * upstream keep-alive: what Dokku fronts apps with), through the Slipway router, and through a bare forwarder on
 * undici's Pool (the reference the router's own upstream client was chosen against), in one run. wrk measures
 * req/s and latency; CPU per request comes from /proc of each proxy's processes. TLS rows: nginx and the router
 * terminating TLS with the same certificate (keep-alive req/s, added latency, new handshakes/s). Prints ratios; writes
 * bench/results/router-DATE.json. Never pass/fail.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PACKAGE_ROOT } from '../server/paths.js';
import { freePort } from '../test/helpers/procs.js';

const run = promisify(execFile);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
/**
 * Each figure is the median of ROUNDS measurements, the targets taken in turn within a round: on a shared
 * machine whose speed drifts, interleaving puts every target under the same drift, and the median drops outliers.
 */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = 64;
const TICKS = 100; // USER_HZ

async function need(binary: string, pkg: string): Promise<void> {
  await run('which', [binary]).catch(() => {
    throw new Error(`bench/router needs ${binary}: apt-get install ${pkg}`);
  });
}

function start(cmd: string, args: string[], readyText?: string, env: Record<string, string> = {}): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`${cmd} exited with ${code}`)));
    if (!readyText) return resolve(child);
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes(readyText)) resolve(child);
    });
  });
}

async function waitListening(port: number): Promise<void> {
  const { connect } = await import('node:net');
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((r) => {
      const s = connect(port, '127.0.0.1', () => (s.destroy(), r(true)));
      s.on('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on ${port}`);
}

/** utime + stime of these processes and their children, in seconds. */
async function cpuSeconds(pids: number[]): Promise<number> {
  let ticks = 0;
  for (const pid of pids) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(f[11] ?? 0) + Number(f[12] ?? 0);
  }
  return ticks / TICKS;
}

async function childrenOf(pid: number): Promise<number[]> {
  const out = await run('pgrep', ['-P', String(pid)]).catch(() => ({ stdout: '' }));
  return out.stdout.split('\n').filter(Boolean).map(Number);
}

const toMicros = (v: string): number => {
  const m = /^([\d.]+)(us|ms|s)$/.exec(v.trim());
  if (!m) return NaN;
  return Number(m[1]) * (m[2] === 'us' ? 1 : m[2] === 'ms' ? 1000 : 1e6);
};

interface Figures { rps: number; p50_us: number; p99_us: number; requests: number; cpu_us_per_req: number | null }

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Median figures per target over ROUNDS interleaved rounds (after one uncounted warm-up each). */
type Target = { name: string; port: number; pids: number[]; tls?: boolean };

async function rounds(targets: Target[], path: string, connections: number, seconds = SECONDS, close = false): Promise<Record<string, Figures>> {
  const runs: Record<string, Figures[]> = {};
  for (const t of targets) await wrk(t.port, path, connections, t.pids, Math.min(2, seconds), { tls: t.tls, close }); // JIT, pools
  for (let r = 0; r < ROUNDS; r++) for (const t of targets) (runs[t.name] ??= []).push(await wrk(t.port, path, connections, t.pids, seconds, { tls: t.tls, close }));
  const out: Record<string, Figures> = {};
  for (const [name, fs] of Object.entries(runs)) {
    const cpu = fs.map((f) => f.cpu_us_per_req).filter((c): c is number => c !== null);
    out[name] = {
      rps: median(fs.map((f) => f.rps)), p50_us: median(fs.map((f) => f.p50_us)), p99_us: median(fs.map((f) => f.p99_us)),
      requests: fs.reduce((a, f) => a + f.requests, 0), cpu_us_per_req: cpu.length ? median(cpu) : null,
    };
  }
  return out;
}

async function wrk(port: number, path: string, connections: number, pids: number[], seconds = SECONDS, o: { tls?: boolean; close?: boolean } = {}): Promise<Figures> {
  const before = await cpuSeconds(pids);
  const headers = ['-H', 'Host: bench.localhost', ...(o.close ? ['-H', 'Connection: close'] : [])];
  const url = `${o.tls ? 'https' : 'http'}://127.0.0.1:${port}${path}`;
  const { stdout } = await run('wrk', ['-t', connections > 1 ? '2' : '1', '-c', String(connections), '-d', `${seconds}s`, '--latency', ...headers, url], { maxBuffer: 1 << 20 });
  const after = await cpuSeconds(pids);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]);
  const requests = Number(/(\d+) requests in/.exec(stdout)?.[1]);
  const p50 = toMicros(/\n\s+50%\s+(\S+)/.exec(stdout)?.[1] ?? '');
  const p99 = toMicros(/\n\s+99%\s+(\S+)/.exec(stdout)?.[1] ?? '');
  if (/Non-2xx|Socket errors/.test(stdout)) console.log(`  (wrk reported errors on :${port}${path}: ${/(Non-2xx[^\n]*|Socket errors[^\n]*)/.exec(stdout)?.[1]})`);
  return { rps: Math.round(rps), p50_us: Math.round(p50), p99_us: Math.round(p99), requests, cpu_us_per_req: pids.length ? Math.round(((after - before) * 1e6) / requests) : null };
}

function nginxConf(dir: string, port: number, upstream: number, workers = 1, tls?: { port: number; cert: string; key: string }): string {
  return `worker_processes ${workers};
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  upstream app { server 127.0.0.1:${upstream}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};${tls ? `
    listen 127.0.0.1:${tls.port} ssl;
    ssl_certificate ${tls.cert};
    ssl_certificate_key ${tls.key};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache off;
    ssl_session_tickets off;` : ''}
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Request-Id $request_id;
    }
  }
}
`;
}

export async function benchRouter(): Promise<void> {
  await need('nginx', 'nginx-light');
  await need('wrk', 'wrk');
  const dist = join(PACKAGE_ROOT, 'dist', 'bench');
  const dir = await mkdtemp(join(tmpdir(), 'slipway-bench-router-'));
  const [upPort, routerPort, nginxPort, undiciPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const [routerTls, nginxTls] = [await freePort(), await freePort()];
  // One certificate for both (RSA 2048, what most sites serve), as the platform's: the router's default context.
  const cert = join(dir, 'bench.crt');
  const key = join(dir, 'bench.key');
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=bench.localhost', '-keyout', key, '-out', cert]);
  const children: ChildProcess[] = [];
  try {
    const upstream = await start(process.execPath, [join(dist, 'upstream.js'), String(upPort)], 'ready');
    children.push(upstream);
    const router = await start(process.execPath, [join(dist, 'router-proxy.js'), String(routerPort), String(upPort)], 'ready',
      { BENCH_TLS_PORT: String(routerTls), BENCH_TLS_CERT: cert, BENCH_TLS_KEY: key });
    children.push(router);
    const undici = await start(process.execPath, [join(dist, 'undici-proxy.js'), String(undiciPort), String(upPort)], 'ready');
    children.push(undici);
    await writeFile(join(dir, 'nginx.conf'), nginxConf(dir, nginxPort, upPort, 1, { port: nginxTls, cert, key }));
    const nginx = await start('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')]);
    children.push(nginx);
    await waitListening(nginxPort);
    const nginxPids = [nginx.pid!, ...(await childrenOf(nginx.pid!))];

    const targets = [
      { name: 'direct', port: upPort, pids: [upstream.pid!] },
      { name: 'nginx', port: nginxPort, pids: nginxPids },
      { name: 'slipway', port: routerPort, pids: [router.pid!] },
      { name: 'undici', port: undiciPort, pids: [undici.pid!] },
    ];
    const rows: Record<string, unknown>[] = [];
    for (const [path, label] of [['/small', '100 B'], ['/large', '64 KiB']] as const) {
      const by = await rounds(targets, path, CONNECTIONS);
      const row = { body: label, connections: CONNECTIONS, ...by, slipway_vs_nginx_rps: Number((by.slipway.rps / by.nginx.rps).toFixed(2)), slipway_vs_direct_rps: Number((by.slipway.rps / by.direct.rps).toFixed(2)) };
      rows.push(row);
      console.log(`${label.padEnd(7)} ${CONNECTIONS} conns   req/s: direct ${by.direct.rps}, nginx ${by.nginx.rps}, slipway ${by.slipway.rps}  (slipway/nginx ${row.slipway_vs_nginx_rps}, slipway/direct ${row.slipway_vs_direct_rps})`);
      console.log(`${''.padEnd(7)} p50/p99 µs: direct ${by.direct.p50_us}/${by.direct.p99_us}, nginx ${by.nginx.p50_us}/${by.nginx.p99_us}, slipway ${by.slipway.p50_us}/${by.slipway.p99_us}`);
      console.log(`${''.padEnd(7)} proxy CPU per request: nginx ${by.nginx.cpu_us_per_req} µs, slipway ${by.slipway.cpu_us_per_req} µs (upstream ${by.direct.cpu_us_per_req} µs)`);
      console.log(`${''.padEnd(7)} reference, a bare undici Pool forwarder: ${by.undici.rps} req/s (slipway/undici ${(by.slipway.rps / by.undici.rps).toFixed(2)}), ${by.undici.cpu_us_per_req} µs per request`);
    }
    const one = await rounds(targets, '/small', 1, 2);
    const hopRow = { body: '100 B', connections: 1, ...one, nginx_added_us: one.nginx.p50_us - one.direct.p50_us, slipway_added_us: one.slipway.p50_us - one.direct.p50_us, undici_added_us: one.undici.p50_us - one.direct.p50_us };
    rows.push(hopRow);
    console.log(`one connection, p50: direct ${one.direct.p50_us} µs; one hop adds nginx ${hopRow.nginx_added_us} µs, slipway ${hopRow.slipway_added_us} µs (undici reference ${hopRow.undici_added_us} µs)`);

    // TLS terminated by each (the same certificate; session resumption off on both, so a new connection is a full
    // handshake): keep-alive throughput, the latency one TLS hop adds, and new handshakes per second.
    const tlsTargets: Target[] = [
      { name: 'nginx', port: nginxTls, pids: nginxPids, tls: true },
      { name: 'slipway', port: routerTls, pids: [router.pid!], tls: true },
    ];
    const tlsRow = await rounds(tlsTargets, '/small', CONNECTIONS);
    const tlsOne = await rounds(tlsTargets, '/small', 1, 2);
    const handshakes = await rounds(tlsTargets, '/small', 16, SECONDS, true);
    const tlsFigures = {
      body: '100 B', tls: true, keepalive: tlsRow, one_connection: tlsOne, new_connections: handshakes,
      slipway_vs_nginx_rps: Number((tlsRow.slipway.rps / tlsRow.nginx.rps).toFixed(2)),
      nginx_added_us: tlsOne.nginx.p50_us - one.direct.p50_us, slipway_added_us: tlsOne.slipway.p50_us - one.direct.p50_us,
      slipway_vs_nginx_handshakes: Number((handshakes.slipway.rps / handshakes.nginx.rps).toFixed(2)),
    };
    rows.push(tlsFigures);
    console.log(`TLS     ${CONNECTIONS} conns   req/s: nginx ${tlsRow.nginx.rps}, slipway ${tlsRow.slipway.rps} (slipway/nginx ${tlsFigures.slipway_vs_nginx_rps}); CPU per request nginx ${tlsRow.nginx.cpu_us_per_req} µs, slipway ${tlsRow.slipway.cpu_us_per_req} µs`);
    console.log(`TLS     one connection, p50: one TLS hop adds nginx ${tlsFigures.nginx_added_us} µs, slipway ${tlsFigures.slipway_added_us} µs (over plain direct ${one.direct.p50_us} µs)`);
    console.log(`TLS     new connections (Connection: close, 16 at once), handshakes/s: nginx ${handshakes.nginx.rps}, slipway ${handshakes.slipway.rps} (slipway/nginx ${tlsFigures.slipway_vs_nginx_handshakes})`);

    // As deployed: one worker per core on both sides (nginx's `worker_processes auto`, the router role's cluster).
    const workers = cpus().length;
    const [routerN, nginxN, routerNTls, nginxNTls] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const clustered = await start(process.execPath, [join(dist, 'router-proxy.js'), String(routerN), String(upPort), String(workers)], 'ready',
      { BENCH_TLS_PORT: String(routerNTls), BENCH_TLS_CERT: cert, BENCH_TLS_KEY: key });
    children.push(clustered);
    await writeFile(join(dir, 'nginx-n.conf'), nginxConf(dir, nginxN, upPort, workers, { port: nginxNTls, cert, key }).replace(`pid ${dir}/nginx.pid`, `pid ${dir}/nginx-n.pid`));
    const nginxMany = await start('nginx', ['-p', dir, '-c', join(dir, 'nginx-n.conf')]);
    children.push(nginxMany);
    await waitListening(nginxN);
    const deployed = await rounds([
      { name: 'nginx', port: nginxN, pids: [nginxMany.pid!, ...(await childrenOf(nginxMany.pid!))] },
      { name: 'slipway', port: routerN, pids: [clustered.pid!, ...(await childrenOf(clustered.pid!))] },
    ], '/small', CONNECTIONS);
    const deployedRow = { body: '100 B', connections: CONNECTIONS, workers, ...deployed, slipway_vs_nginx_rps: Number((deployed.slipway.rps / deployed.nginx.rps).toFixed(2)) };
    rows.push(deployedRow);
    console.log(`as deployed, ${workers} workers each: nginx ${deployed.nginx.rps} req/s, slipway ${deployed.slipway.rps} req/s (slipway/nginx ${deployedRow.slipway_vs_nginx_rps}); CPU per request nginx ${deployed.nginx.cpu_us_per_req} µs, slipway ${deployed.slipway.cpu_us_per_req} µs`);
    const manyPids = { nginx: [nginxMany.pid!, ...(await childrenOf(nginxMany.pid!))], slipway: [clustered.pid!, ...(await childrenOf(clustered.pid!))] };
    const deployedTls = await rounds([
      { name: 'nginx', port: nginxNTls, pids: manyPids.nginx, tls: true },
      { name: 'slipway', port: routerNTls, pids: manyPids.slipway, tls: true },
    ], '/small', CONNECTIONS);
    const deployedTlsRow = { body: '100 B', tls: true, connections: CONNECTIONS, workers, ...deployedTls, slipway_vs_nginx_rps: Number((deployedTls.slipway.rps / deployedTls.nginx.rps).toFixed(2)) };
    rows.push(deployedTlsRow);
    console.log(`as deployed over TLS, ${workers} workers each: nginx ${deployedTls.nginx.rps} req/s, slipway ${deployedTls.slipway.rps} req/s (slipway/nginx ${deployedTlsRow.slipway_vs_nginx_rps}); CPU per request nginx ${deployedTls.nginx.cpu_us_per_req} µs, slipway ${deployedTls.slipway.cpu_us_per_req} µs`);

    const machine = { cpus: cpus().length, cpu_model: cpus()[0]?.model, memory_gb: Math.round(totalmem() / 2 ** 30), node: process.version, nginx: (await run('nginx', ['-v']).catch((e: { stderr: string }) => e)).stderr?.trim() };
    const out = join(PACKAGE_ROOT, 'bench', 'results', `router-${new Date().toISOString().slice(0, 19).replace(/:/g, '')}.json`);
    await mkdir(join(PACKAGE_ROOT, 'bench', 'results'), { recursive: true });
    await writeFile(out, JSON.stringify({ benchmark: 'router: direct vs nginx vs slipway (wrk, keep-alive clients)', seconds: SECONDS, rounds: ROUNDS, machine, rows }, null, 2) + '\n');
    console.log(`written to ${out}`);
  } finally {
    for (const c of children.reverse()) {
      c.removeAllListeners('exit');
      c.kill('SIGTERM');
    }
    await rm(dir, { recursive: true, force: true });
  }
}
