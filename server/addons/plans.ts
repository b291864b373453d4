/**
 * The add-on catalogue: two services, PostgreSQL and Redis, and their plans. A plan sets what the add-on server
 * enforces (PostgreSQL: the role's connection limit; Redis: maxmemory and maxclients) and the storage a database
 * is meant to stay under (reported by pg:info, warned about when exceeded). Heroku's service and plan names are
 * accepted too (`heroku-postgresql:essential-0`, `heroku-redis:mini`, and their older names), so the Heroku CLI's
 * `addons:create` works as its users type it.
 */
import { invalidParams } from '../errors.js';

export type AddonServiceName = 'postgresql' | 'redis';

export interface PostgresPlan {
  service: 'postgresql';
  name: string;
  connections: number;
  /** Over it, the database is read-only until back under (Heroku's rule). */
  storageBytes: number;
  /** temp_file_limit of the role: what one session may spill to disk (sorts, hashes), which the tenant cannot raise. */
  tempFileBytes: number;
  /** statement_timeout of the role (the tenant may lower or raise it per session, as on Heroku). */
  statementTimeoutSeconds: number;
}

export interface RedisPlan {
  service: 'redis';
  name: string;
  connections: number;
  memoryBytes: number;
}

export type AddonPlan = PostgresPlan | RedisPlan;

const GB = 1024 ** 3;
const MB = 1024 ** 2;

const POSTGRES_PLANS: PostgresPlan[] = [
  { service: 'postgresql', name: 'essential-0', connections: 20, storageBytes: 1 * GB, tempFileBytes: 256 * MB, statementTimeoutSeconds: 900 },
  { service: 'postgresql', name: 'essential-1', connections: 20, storageBytes: 10 * GB, tempFileBytes: 2 * GB, statementTimeoutSeconds: 900 },
  { service: 'postgresql', name: 'essential-2', connections: 40, storageBytes: 32 * GB, tempFileBytes: 4 * GB, statementTimeoutSeconds: 1800 },
  { service: 'postgresql', name: 'standard-0', connections: 120, storageBytes: 64 * GB, tempFileBytes: 8 * GB, statementTimeoutSeconds: 3600 },
  { service: 'postgresql', name: 'standard-2', connections: 400, storageBytes: 256 * GB, tempFileBytes: 16 * GB, statementTimeoutSeconds: 3600 },
];

const REDIS_PLANS: RedisPlan[] = [
  { service: 'redis', name: 'mini', connections: 20, memoryBytes: 25 * MB },
  { service: 'redis', name: 'premium-0', connections: 40, memoryBytes: 50 * MB },
  { service: 'redis', name: 'premium-1', connections: 80, memoryBytes: 100 * MB },
  { service: 'redis', name: 'premium-2', connections: 200, memoryBytes: 250 * MB },
  { service: 'redis', name: 'premium-3', connections: 400, memoryBytes: 500 * MB },
];

export const DEFAULT_PLAN: Record<AddonServiceName, string> = { postgresql: 'essential-0', redis: 'mini' };

/** The free tier: what anyone may make; a plan above it is made by an administrator (who may make it for any app). */
export const isFreePlan = (plan: AddonPlan): boolean => plan.name === DEFAULT_PLAN[plan.service];

/** Names a service goes by: ours, Heroku's, and what people type. */
const SERVICE_ALIASES: Record<string, AddonServiceName> = {
  postgresql: 'postgresql', postgres: 'postgresql', 'heroku-postgresql': 'postgresql',
  redis: 'redis', 'heroku-redis': 'redis',
};

/** Heroku's retired plan names, as the Heroku CLI and old app.json files still give them. */
const PLAN_ALIASES: Record<AddonServiceName, Record<string, string>> = {
  postgresql: { 'hobby-dev': 'essential-0', mini: 'essential-0', 'hobby-basic': 'essential-1', basic: 'essential-1' },
  redis: { 'hobby-dev': 'mini' },
};

export const ADDON_SERVICES: AddonServiceName[] = ['postgresql', 'redis'];

/** What an add-on's service is called in Heroku's API (addon_service.name): what the Heroku CLI matches on. */
export const HEROKU_SERVICE_NAME: Record<AddonServiceName, string> = { postgresql: 'heroku-postgresql', redis: 'heroku-redis' };

export function plansOf(service: AddonServiceName): AddonPlan[] {
  return service === 'postgresql' ? POSTGRES_PLANS : REDIS_PLANS;
}

export function serviceNamed(word: string): AddonServiceName | undefined {
  return SERVICE_ALIASES[word.toLowerCase()];
}

/** `postgresql`, `heroku-postgresql:essential-0`, `redis:premium-0` … to a plan; a clear 422 for anything else. */
export function parsePlan(spec: unknown): AddonPlan {
  if (typeof spec !== 'string' || !/^[a-z0-9-]{1,40}(:[a-z0-9-]{1,40})?$/i.test(spec)) {
    throw invalidParams('Give a plan as SERVICE[:PLAN], e.g. postgresql:essential-0 or heroku-redis:mini.');
  }
  const [serviceWord, planWord] = spec.toLowerCase().split(':');
  const service = serviceNamed(serviceWord);
  if (!service) throw invalidParams(`Couldn't find either the add-on service or the add-on plan of "${spec}": the services are ${ADDON_SERVICES.join(' and ')} (or Heroku's heroku-postgresql and heroku-redis).`);
  const name = PLAN_ALIASES[service][planWord ?? ''] ?? planWord ?? DEFAULT_PLAN[service];
  const plan = plansOf(service).find((p) => p.name === name);
  if (!plan) throw invalidParams(`${service} has no plan "${planWord}": its plans are ${plansOf(service).map((p) => p.name).join(', ')}.`);
  return plan;
}

export function planOf(service: AddonServiceName, name: string): AddonPlan {
  const plan = plansOf(service).find((p) => p.name === name);
  if (!plan) throw new Error(`unknown ${service} plan ${name}`);
  return plan;
}
