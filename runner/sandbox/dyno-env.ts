/** What a dyno's process looks like inside: Heroku's environment and `.profile.d` sourced before the command. */
export interface DynoIdentity {
  dyno: string; // web.1, release.1, run.3
  port: number;
  releaseVersion: number;
  config: Record<string, string>;
}

const PROFILE = 'for f in /app/.profile.d/*.sh; do [ -r "$f" ] && . "$f"; done; eval "$1"';

/**
 * With a terminal: util-linux `script` puts the command on a pseudo-terminal inside the dyno, sized from the
 * client's COLUMNS and LINES, and exits with the command's status.
 */
const PROFILE_TTY =
  'for f in /app/.profile.d/*.sh; do [ -r "$f" ] && . "$f"; done; ' +
  'SHELL=/bin/bash exec script -qefc "stty cols ${COLUMNS:-80} rows ${LINES:-24} 2>/dev/null; $1" /dev/null';

/** argv for a Procfile command: bash sources /app/.profile.d/*.sh, then runs the command (itself shell, as on Heroku). */
export function dynoArgv(command: string, tty = false): string[] {
  return ['/bin/bash', '-c', tty ? PROFILE_TTY : PROFILE, 'slipway-dyno', command];
}

/** A dyno's PATH: the app's own bin, the runtime the buildpack installed, then the stack's. */
export const DYNO_PATH = '/app/bin:/app/.heroku/node/bin:/usr/local/bin:/usr/bin:/bin';

/** The environment: config vars, then what the platform sets (which config cannot override). */
export function dynoEnv(d: DynoIdentity): Record<string, string> {
  const { PATH: _p, HOME: _h, PORT: _port, DYNO: _d, ...config } = d.config;
  return {
    LANG: 'C.UTF-8',
    ...config,
    PATH: DYNO_PATH,
    HOME: '/app',
    PORT: String(d.port),
    DYNO: d.dyno,
    SLIPWAY_RELEASE_VERSION: String(d.releaseVersion),
  };
}
