/**
 * A git server the test owns, on an address inside a network namespace the test made (a veth pair to the host, a
 * /30 in 198.19.0.0/16, a benchmarking range that stands in for the internet here; a private range would be refused
 * to builds): build containers reach it through their own network rules, as they would reach GitHub, and no traffic
 * leaves the machine.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { PACKAGE_ROOT } from '../../server/paths.js';

const run = promisify(execFile);

export interface GitRequest {
  method: string;
  path: string;
  user?: string;
  password?: string;
}

export interface NetnsGitServer {
  /** http://ADDRESS/NAME.git */
  url(repo: string): string;
  requests: GitRequest[];
  /** Resolves when the server holds its first request (it answers once release() is called). */
  held: Promise<void>;
  release(): void;
  stop(): Promise<void>;
}

export async function startNetnsGitServer(reposDir: string, creds?: string): Promise<NetnsGitServer> {
  const tag = randomBytes(3).toString('hex');
  const ns = `swtest-git-${tag}`;
  const [hostIf, nsIf] = [`swtg${tag}h`, `swtg${tag}n`];
  const octet = 1 + (parseInt(tag, 16) % 250);
  const [hostIp, nsIp] = [`198.19.${octet}.1`, `198.19.${octet}.2`];
  const ip = (args: string[]) => run('ip', args);
  await ip(['netns', 'add', ns]);
  let server: ChildProcess | undefined;
  const stop = async () => {
    if (server?.pid && server.exitCode === null) {
      server.kill('SIGKILL');
      await new Promise((r) => server!.once('exit', r));
    }
    await ip(['netns', 'del', ns]).catch(() => undefined);
    await ip(['link', 'del', hostIf]).catch(() => undefined);
  };
  try {
    await ip(['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf]);
    await ip(['link', 'set', nsIf, 'netns', ns]);
    await ip(['addr', 'add', `${hostIp}/30`, 'dev', hostIf]);
    await ip(['link', 'set', hostIf, 'up']);
    await ip(['-n', ns, 'addr', 'add', `${nsIp}/30`, 'dev', nsIf]);
    await ip(['-n', ns, 'link', 'set', nsIf, 'up']);
    await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    const script = join(PACKAGE_ROOT, 'dist', 'test', 'helpers', 'git-http-server.js');
    server = spawn('ip', ['netns', 'exec', ns, process.execPath, script, '80', reposDir], {
      stdio: ['pipe', 'pipe', 'inherit'], env: { PATH: process.env.PATH, ...(creds ? { GIT_SERVER_CREDS: creds } : {}) },
    });
    const requests: GitRequest[] = [];
    let onHeld: () => void = () => undefined;
    const held = new Promise<void>((r) => (onHeld = r));
    const listening = new Promise<void>((resolve, reject) => {
      server!.once('exit', (code) => reject(new Error(`the git server exited with ${code}`)));
      createInterface({ input: server!.stdout! }).on('line', (line) => {
        if (line === 'listening') resolve();
        else if (line === 'held') onHeld();
        else requests.push(JSON.parse(line) as GitRequest);
      });
    });
    await listening;
    return {
      url: (repo) => `http://${nsIp}/${repo}.git`,
      requests,
      held,
      release: () => server?.stdin?.write('go\n'),
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
