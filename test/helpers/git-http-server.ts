/**
 * A git smart-HTTP server (git http-backend behind node:http), optionally behind basic auth, that tests run inside a
 * network namespace of their own (git-netns.ts) so a build container can clone from it over its real network.
 * Run as a program: `node git-http-server.js PORT REPOS_DIR`, USER:PASSWORD in GIT_SERVER_CREDS (never in argv). It prints one JSON line per request
 * ({method, path, user, password}) and, before answering the first request, a line "held" and waits for a line on
 * stdin: the test looks at the machine's processes meanwhile.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';

const [port, repos] = process.argv.slice(2);
const creds = process.env.GIT_SERVER_CREDS;
let held = false;
const release = new Promise<void>((resolve) => createInterface({ input: process.stdin }).once('line', () => resolve()));

const server = createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  const auth = /^Basic (.+)$/.exec(req.headers.authorization ?? '')?.[1];
  const [user, password] = auth ? Buffer.from(auth, 'base64').toString().split(/:(.*)/s) : [undefined, undefined];
  console.log(JSON.stringify({ method: req.method, path: url.pathname, user, password }));
  if (creds && `${user}:${password}` !== creds) {
    res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"' });
    return void res.end();
  }
  if (!held) {
    held = true;
    console.log('held');
    await release;
  }
  const cgi = spawn('git', ['http-backend'], {
    env: {
      PATH: '/usr/bin:/bin', GIT_PROJECT_ROOT: repos, GIT_HTTP_EXPORT_ALL: '1', PATH_INFO: url.pathname, QUERY_STRING: url.search.slice(1),
      REQUEST_METHOD: req.method ?? 'GET', CONTENT_TYPE: req.headers['content-type'] ?? '', REMOTE_USER: user ?? '', REMOTE_ADDR: req.socket.remoteAddress ?? '',
      HTTP_CONTENT_ENCODING: String(req.headers['content-encoding'] ?? ''), HTTP_GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
    },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  req.pipe(cgi.stdin);
  let head = Buffer.alloc(0);
  let started = false;
  cgi.stdout.on('data', (d: Buffer) => {
    if (started) return void res.write(d);
    head = Buffer.concat([head, d]);
    const end = head.indexOf('\r\n\r\n') >= 0 ? head.indexOf('\r\n\r\n') + 4 : head.indexOf('\n\n') >= 0 ? head.indexOf('\n\n') + 2 : -1;
    if (end < 0) return;
    started = true;
    let status = 200;
    const headers: Record<string, string> = {};
    for (const line of head.subarray(0, end).toString().split(/\r?\n/).filter(Boolean)) {
      const i = line.indexOf(':');
      const [k, v] = [line.slice(0, i).trim(), line.slice(i + 1).trim()];
      if (k.toLowerCase() === 'status') status = Number(v.split(' ')[0]);
      else headers[k] = v;
    }
    res.writeHead(status, headers);
    res.write(head.subarray(end));
  });
  cgi.on('close', () => res.end());
});
server.listen(Number(port), '0.0.0.0', () => console.log('listening'));
