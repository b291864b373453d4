/**
 * The pre-receive hook of every app repo runs this: it hands the ref updates to the api role over a unix
 * socket and writes what comes back to stderr, which git relays live to the pusher as `remote:` lines.
 * Its exit code decides whether git updates the ref. Kept free of dependencies so it starts fast.
 */
import { connect } from 'node:net';
import { resolve } from 'node:path';

export function runHook(socketPath: string): void {
  let input = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (d) => (input += d));
  process.stdin.on('end', () => {
    const updates = input.split('\n').filter(Boolean).map((l) => {
      const [oldSha, newSha, ref] = l.split(' ');
      return { old: oldSha, new: newSha, ref };
    });
    let exitCode = 1;
    let buffer = '';
    // git hands hooks the quarantine dir of the pushed objects in the environment; the build reads them from there.
    const q = process.env.GIT_QUARANTINE_PATH;
    const quarantine = q ? resolve(process.cwd(), q) : null; // relative to the repo, the hook's cwd
    const sock = connect(socketPath, () => sock.write(JSON.stringify({ pid: process.ppid, updates, quarantine }) + '\n'));
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      buffer += d;
      let i;
      while ((i = buffer.indexOf('\n')) >= 0) {
        const msg = JSON.parse(buffer.slice(0, i)) as { line?: string; exit?: number };
        buffer = buffer.slice(i + 1);
        if (msg.line !== undefined) process.stderr.write(msg.line + '\n');
        if (msg.exit !== undefined) exitCode = msg.exit;
      }
    });
    sock.on('error', (e) => {
      process.stderr.write(`Slipway could not take this push (${e.message}); try again.\n`);
      process.exit(1);
    });
    sock.on('close', () => process.exit(exitCode));
  });
}
