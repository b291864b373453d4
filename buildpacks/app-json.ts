/**
 * app.json (Heroku's and Dokku's app manifest), read from the source as a tenant file before the buildpacks run:
 * - `healthchecks`: startup checks by process type (Dokku's shape; what is malformed is said and left out);
 * - `formation`: quantity and size per process type on its first deploy (app-json-formation.ts);
 * - `buildpacks`: `[{"url": "heroku/nodejs"}, …]`, used when the app names none itself;
 * - `scripts.postdeploy`: a command run once in a one-off dyno after the app's first successful deploy;
 * - `env`: config vars an app needs, applied on its first deploy: defaults (`value`), made (`generator: "secret"`),
 *   or `required` (Heroku's default) and then they must be set before that deploy.
 * Any other malformed field fails the build naming the field: a manifest half-applied is worse than a failed push.
 */
import { BuildError } from './errors.js';
import { parseFormation, type FormationDefaults } from './app-json-formation.js';
import { readTenantFile } from './tenant-file.js';
import { checksWorstCaseS, MAX_CHECKS_S, parseHealthchecks, type HealthCheck } from '../platform/health-check.js';

/** What app.json says a config var should be on the app's first deploy. */
export interface AppEnvVar {
  description?: string;
  value?: string;
  /** Heroku's default: a var with no value and no generator is required. */
  required: boolean;
  generator?: 'secret';
}

export interface AppManifest {
  healthchecks: Record<string, HealthCheck[]>;
  formation: FormationDefaults;
  buildpacks: string[];
  postdeploy?: string;
  env: Record<string, AppEnvVar>;
}

export const EMPTY_MANIFEST: AppManifest = { healthchecks: {}, formation: {}, buildpacks: [], env: {} };

const CONFIG_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_BUILDPACKS = 10;

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

export function parseAppJsonBuildpacks(raw: unknown): string[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new BuildError('app.json: buildpacks must be a list like [{"url": "heroku/nodejs"}].');
  if (raw.length > MAX_BUILDPACKS) throw new BuildError(`app.json: buildpacks names ${raw.length} buildpacks; at most ${MAX_BUILDPACKS} are run.`);
  return raw.map((b, i) => {
    const url = isObject(b) ? b.url : undefined;
    if (typeof url !== 'string' || !url.trim() || url.length > 500) throw new BuildError(`app.json: buildpacks[${i}].url must be a buildpack name or URL.`);
    return url.trim();
  });
}

export function parseAppJsonScripts(raw: unknown): { postdeploy?: string } {
  if (raw === undefined || raw === null) return {};
  if (!isObject(raw)) throw new BuildError('app.json: scripts must be an object like {"postdeploy": "npm run seed"}.');
  const p = raw.postdeploy;
  if (p === undefined || p === null) return {};
  if (typeof p !== 'string' || !p.trim() || p.length > 4096) throw new BuildError('app.json: scripts.postdeploy must be a command (a string).');
  return { postdeploy: p.trim() };
}

export function parseAppJsonEnv(raw: unknown): Record<string, AppEnvVar> {
  if (raw === undefined || raw === null) return {};
  if (!isObject(raw)) throw new BuildError('app.json: env must be an object of config var names.');
  const out: Record<string, AppEnvVar> = {};
  for (const [key, v] of Object.entries(raw)) {
    const where = `app.json: env.${key.slice(0, 60)}`;
    if (!CONFIG_KEY.test(key) || key.length > 200) throw new BuildError(`${where}: not a config var name (letters, digits, underscores).`);
    if (typeof v === 'string') {
      out[key] = { value: v, required: true };
      continue;
    }
    if (!isObject(v)) throw new BuildError(`${where} must be a string or an object with value, description, required or generator.`);
    if (v.value !== undefined && typeof v.value !== 'string') throw new BuildError(`${where}.value must be a string.`);
    if (v.description !== undefined && typeof v.description !== 'string') throw new BuildError(`${where}.description must be a string.`);
    if (v.required !== undefined && typeof v.required !== 'boolean') throw new BuildError(`${where}.required must be true or false.`);
    if (v.generator !== undefined && v.generator !== 'secret') throw new BuildError(`${where}.generator must be "secret" (the only generator).`);
    out[key] = {
      ...(v.description ? { description: v.description.slice(0, 200) } : {}),
      ...(v.value !== undefined ? { value: v.value } : {}),
      required: v.required !== false,
      ...(v.generator ? { generator: 'secret' as const } : {}),
    };
  }
  return out;
}

/** app.json of the source in buildDir, or the empty manifest when it has none. */
export async function readAppJson(buildDir: string, log: (line: string) => void): Promise<AppManifest> {
  const text = await readTenantFile(buildDir, 'app.json', { what: 'app.json', maxBytes: 256 * 1024 });
  if (text === undefined) return EMPTY_MANIFEST;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new BuildError('app.json is not valid JSON.');
  }
  if (!isObject(parsed)) throw new BuildError('app.json must be a JSON object.');
  const { checks, problems } = parseHealthchecks(parsed.healthchecks);
  for (const p of problems) log(` !     app.json: ${p} (left out)`);
  const worst = checksWorstCaseS(Object.values(checks).flat());
  if (worst > MAX_CHECKS_S) log(` !     app.json: the startup checks could take ${worst} s in all; a deploy waits at most ${MAX_CHECKS_S} s for them`);
  return {
    healthchecks: checks,
    formation: parseFormation(parsed.formation),
    buildpacks: parseAppJsonBuildpacks(parsed.buildpacks),
    ...parseAppJsonScripts(parsed.scripts),
    env: parseAppJsonEnv(parsed.env),
  };
}

/**
 * The config vars app.json's env gives an app on its first deploy, beside those it has: values for what is not set
 * yet (a secret made for each `generator: "secret"`), and the required names still missing.
 */
export function appEnvDefaults(env: Record<string, AppEnvVar>, have: Record<string, string>, secret: () => string): { set: Record<string, string>; missing: string[] } {
  const set: Record<string, string> = {};
  const missing: string[] = [];
  for (const [key, v] of Object.entries(env)) {
    if (key in have) continue;
    if (v.value !== undefined) set[key] = v.value;
    else if (v.generator === 'secret') set[key] = secret();
    else if (v.required) missing.push(v.description ? `${key} (${v.description})` : key);
  }
  return { set, missing };
}
