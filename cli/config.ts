/** The CLI's settings: SLIPWAY_API_URL (default http://127.0.0.1:5050) and SLIPWAY_API_KEY, else ~/.netrc. */
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface CliConfig {
  apiUrl: string;
  envToken: string | undefined;
  netrcPath: string;
}

export function loadCliConfig(env: Record<string, string | undefined> = process.env): CliConfig {
  const port = env.SLIPWAY_API_PORT || '5050';
  const apiUrl = (env.SLIPWAY_API_URL || `http://127.0.0.1:${port}`).replace(/\/+$/, '');
  try {
    new URL(apiUrl);
  } catch {
    throw new Error(`SLIPWAY_API_URL is not a URL: ${apiUrl}`);
  }
  return { apiUrl, envToken: env.SLIPWAY_API_KEY || undefined, netrcPath: join(env.HOME || homedir(), '.netrc') };
}
