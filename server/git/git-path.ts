/**
 * The only git URLs Slipway serves: /APP.git/info/refs?service=…, /APP.git/HEAD, /APP.git/git-upload-pack,
 * /APP.git/git-receive-pack. Anything else that ends in .git is refused before it reaches node-git-server,
 * so no URL can name a path outside the repos dir or create a directory.
 */
import { parseAppName, type AppName } from '../names.js';

export type GitService = 'upload-pack' | 'receive-pack';

export interface GitRequest {
  app: AppName;
  kind: 'info-refs' | 'head' | 'rpc';
  service?: GitService;
}

const GIT_PATH = /^\/([^/]+)\.git(\/.*)?$/;

/** True when the request path is meant for git (ends in .git or .git/…), whether or not it is valid. */
export const isGitPath = (rawUrl: string): boolean => GIT_PATH.test(rawUrl.split('?')[0]);

/** Parses a raw request URL; undefined when it is not a valid Slipway git URL. Never decodes %-escapes. */
export function parseGitRequest(method: string, rawUrl: string): GitRequest | undefined {
  const [path, query = ''] = rawUrl.split('?', 2);
  const m = GIT_PATH.exec(path);
  if (!m) return undefined;
  let app: AppName;
  try {
    app = parseAppName(m[1]);
  } catch {
    return undefined;
  }
  const rest = m[2] ?? '';
  if (method === 'GET' && rest === '/info/refs') {
    const service = new URLSearchParams(query).get('service');
    if (service !== 'git-upload-pack' && service !== 'git-receive-pack') return undefined;
    return { app, kind: 'info-refs', service: service.slice(4) as GitService };
  }
  if (method === 'GET' && rest === '/HEAD') return { app, kind: 'head' };
  if (method === 'POST' && (rest === '/git-upload-pack' || rest === '/git-receive-pack')) {
    return { app, kind: 'rpc', service: rest.slice(5) as GitService };
  }
  return undefined;
}

/** Refs a push may update: main or master. */
export const DEPLOY_REFS = ['refs/heads/main', 'refs/heads/master'];
export const ZERO_SHA = '0000000000000000000000000000000000000000';
