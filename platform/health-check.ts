/**
 * Startup checks, as app.json gives them (`healthchecks`, Dokku's shape) or config vars do (SLIPWAY_HEALTHCHECK_PATH,
 * …): their shape, their parsing and what a deploy may wait for them. Pure: runner/agent/health-check.ts runs them.
 */
export interface HealthCheck {
  name: string;
  /** An HTTP check: the path to GET. */
  path?: string;
  /** The body must hold this. */
  content?: string;
  /** An uptime check: seconds the process must stay up. */
  uptime?: number;
  attempts: number;
  timeoutS: number;
  waitS: number;
  initialDelayS: number;
}

/**
 * The startup checks of one process type from app.json's `healthchecks` (Dokku's shape), validated: unknown or
 * malformed ones are reported, not run. Readiness and liveness checks are not run (only startup).
 */
export function parseHealthchecks(raw: unknown): { checks: Record<string, HealthCheck[]>; problems: string[] } {
  const checks: Record<string, HealthCheck[]> = {};
  const problems: string[] = [];
  if (raw === undefined || raw === null) return { checks, problems };
  if (typeof raw !== 'object' || Array.isArray(raw)) return { checks, problems: ['healthchecks must be an object of process types to lists of checks'] };
  for (const [type, list] of Object.entries(raw as Record<string, unknown>)) {
    if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(type) || !Array.isArray(list)) {
      problems.push(`healthchecks.${type.slice(0, 30)} must be a list of checks`);
      continue;
    }
    for (const [i, item] of list.slice(0, 20).entries()) {
      const c = item as Record<string, unknown>;
      const where = `healthchecks.${type}[${i}]`;
      if (!c || typeof c !== 'object') {
        problems.push(`${where} is not an object`);
        continue;
      }
      if (c.type !== undefined && c.type !== 'startup') continue; // readiness, liveness: not run at deploy
      const num = (k: string, dflt: number, max: number) => {
        const v = c[k] === undefined ? dflt : Number(c[k]);
        if (!Number.isFinite(v) || v < 0 || v > max) problems.push(`${where}.${k} must be a number from 0 to ${max}`);
        return Math.min(Math.max(0, Number.isFinite(v) ? v : dflt), max);
      };
      const path = typeof c.path === 'string' ? c.path : undefined;
      if (path !== undefined && (!path.startsWith('/') || path.length > 1000 || /[\s\0]/.test(path))) {
        problems.push(`${where}.path must be a path starting with /`);
        continue;
      }
      const uptime = c.uptime === undefined ? undefined : num('uptime', 0, 600);
      if (path === undefined && uptime === undefined) {
        problems.push(`${where} needs a path (an HTTP check) or an uptime`);
        continue;
      }
      (checks[type] ??= []).push({
        name: typeof c.name === 'string' ? c.name.slice(0, 100) : path ?? 'uptime', path, uptime,
        content: typeof c.content === 'string' ? c.content.slice(0, 1000) : undefined,
        attempts: Math.max(1, Math.round(num('attempts', 3, 20))), timeoutS: Math.max(1, num('timeout', 5, 60)), waitS: num('wait', 5, 60), initialDelayS: num('initialDelay', 0, 300),
      });
    }
  }
  return { checks, problems };
}

/** Config vars that give web dynos a startup check, and the app.json key each stands for. */
export const HEALTHCHECK_VARS: Record<string, string> = {
  SLIPWAY_HEALTHCHECK_PATH: 'path', SLIPWAY_HEALTHCHECK_CONTENT: 'content', SLIPWAY_HEALTHCHECK_ATTEMPTS: 'attempts',
  SLIPWAY_HEALTHCHECK_TIMEOUT: 'timeout', SLIPWAY_HEALTHCHECK_WAIT: 'wait',
};

/** The web check the config vars define (none without SLIPWAY_HEALTHCHECK_PATH), and what is wrong with them. */
export function configHealthcheck(config: Record<string, string | undefined>): { check?: HealthCheck; problems: string[] } {
  const item: Record<string, unknown> = { type: 'startup', name: 'SLIPWAY_HEALTHCHECK_PATH' };
  for (const [key, field] of Object.entries(HEALTHCHECK_VARS)) if (config[key] !== undefined) item[field] = config[key];
  if (item.path === undefined) return { problems: [] };
  const { checks, problems } = parseHealthchecks({ web: [item] });
  const named = problems.map((p) => {
    const field = /^healthchecks\.web\[0\]\.(\w+)/.exec(p)?.[1] ?? 'path';
    const key = Object.keys(HEALTHCHECK_VARS).find((k) => HEALTHCHECK_VARS[k] === field) ?? 'SLIPWAY_HEALTHCHECK_PATH';
    return `${key}${p.replace(/^healthchecks\.web\[0\](\.\w+)?/, '')}`;
  });
  return { check: checks.web?.[0], problems: named };
}

/** The startup checks a dyno of this type must pass: its app.json ones, and for web the config vars' one. */
/** The longest a deploy waits for its startup checks, however many and slow they are (a deploy holds its app's turn). */
export const MAX_CHECKS_S = 900;

/** The longest the checks could take, each failing slowly to its last attempt. */
export function checksWorstCaseS(checks: HealthCheck[]): number {
  return checks.reduce((n, c) => n + c.initialDelayS + (c.uptime ?? 0) + c.attempts * (c.timeoutS + c.waitS), 0);
}

export function checksFor(type: string, appJson: HealthCheck[] | null | undefined, config: Record<string, string | undefined>): HealthCheck[] {
  const fromConfig = type === 'web' ? configHealthcheck(config).check : undefined;
  return [...(Array.isArray(appJson) ? appJson : []), ...(fromConfig ? [fromConfig] : [])];
}
