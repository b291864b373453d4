import { chmod, readdir, writeFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PACKAGE_ROOT } from '../paths.js';

const run = promisify(execFile);
export const HOOK_CLIENT = join(PACKAGE_ROOT, 'dist', 'server', 'git', 'hook-client.js');

/**
 * Writes the repo's pre-receive hook: a node script (no shell) that runs the hook client against the api's
 * socket, and sets the push size cap. Rewritten at every api start, so moved paths heal.
 */
export async function installHook(repoPath: string, socketPath: string, maxPushBytes: number): Promise<void> {
  const script = `#!${process.execPath}\n// Slipway pre-receive hook: written by the api role, do not edit.\nimport(${JSON.stringify('file://' + HOOK_CLIENT)}).then((m) => m.runHook(${JSON.stringify(socketPath)}));\n`;
  const hook = join(repoPath, 'hooks', 'pre-receive');
  await writeFile(hook, script, { mode: 0o755 });
  await chmod(hook, 0o755);
  await run('git', ['--git-dir', repoPath, 'config', 'receive.maxInputSize', String(maxPushBytes)]);
}

export async function installAllHooks(reposDir: string, socketPath: string, maxPushBytes: number): Promise<number> {
  const names = (await readdir(reposDir).catch(() => [] as string[])).filter((n) => n.endsWith('.git'));
  for (const n of names) await installHook(join(reposDir, n), socketPath, maxPushBytes);
  return names.length;
}
