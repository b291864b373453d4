/** Identifiers validated once, at the edge, into branded types. Past the edge, code trusts them. */
import { randomInt } from 'node:crypto';
import { invalidParams } from './errors.js';

export type AppName = string & { readonly __brand: 'AppName' };
export type Email = string & { readonly __brand: 'Email' };

const APP_NAME = /^[a-z][a-z0-9-]{1,29}$/;

/** Names an app may not take: they are the platform's own host names or would confuse people and tools. */
export const RESERVED_APP_NAMES: ReadonlySet<string> = new Set([
  'api', 'git', 'www', 'admin', 'dashboard', 'slipway', 'router', 'app', 'apps', 'status', 'health',
  'static', 'assets', 'cdn', 'mail', 'smtp', 'ftp', 'ssh', 'root', 'system', 'default', 'localhost',
  'login', 'logout', 'auth', 'oauth', 'account', 'accounts', 'users', 'help', 'docs', 'internal', 'metrics',
]);

export function parseAppName(value: unknown): AppName {
  if (typeof value !== 'string') throw invalidParams('Name must be a string.');
  if (!APP_NAME.test(value) || value.endsWith('-')) {
    throw invalidParams(
      'Name must start with a letter, end with a letter or digit, and use only lowercase letters, digits and dashes (2 to 30 characters).',
    );
  }
  if (RESERVED_APP_NAMES.has(value)) throw invalidParams(`Name "${value}" is reserved.`);
  return value as AppName;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (value: string): boolean => UUID.test(value);
/** Whether a path segment could name a dyno (web.1, run.12) or be a dyno's id. */
export const couldNameDyno = (value: unknown): value is string => typeof value === 'string' && (/^[a-z0-9]+(?:-[a-z0-9]+)*\.\d{1,6}$/.test(value) || UUID.test(value));
/** Whether a path segment could name an app (by name or id): anything else is not looked up at all. */
export const couldNameApp = (value: unknown): value is string => typeof value === 'string' && (APP_NAME.test(value) || UUID.test(value));

const EMAIL = /^[^\s@"'<>\\,;:()[\]]{1,64}@[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/;

export function parseEmail(value: unknown): Email {
  if (typeof value !== 'string' || value.length > 254 || !EMAIL.test(value)) throw invalidParams('Email must be a valid address.');
  return value.toLowerCase() as Email;
}

const ADJECTIVES = [
  'quiet', 'brave', 'calm', 'eager', 'fancy', 'gentle', 'happy', 'jolly', 'kind', 'lively', 'misty', 'nimble',
  'proud', 'rapid', 'shiny', 'silent', 'sunny', 'swift', 'tidy', 'vast', 'warm', 'wild', 'young', 'zesty',
  'amber', 'bold', 'crisp', 'dusty', 'frosty', 'golden', 'hidden', 'icy', 'lucky', 'mellow', 'polar', 'rustic',
];
const NOUNS = [
  'river', 'meadow', 'forest', 'harbor', 'island', 'lake', 'mountain', 'ocean', 'prairie', 'reef', 'shore',
  'valley', 'canyon', 'cliff', 'dune', 'glacier', 'grove', 'hill', 'lagoon', 'marsh', 'peak', 'ridge', 'spring',
  'stream', 'summit', 'tundra', 'brook', 'cove', 'fjord', 'garden', 'haven', 'inlet', 'oasis', 'plains', 'wave',
];

/** A Heroku-style random app name: quiet-river-4821. */
export function randomAppName(): AppName {
  const pick = (list: string[]) => list[randomInt(list.length)];
  return `${pick(ADJECTIVES)}-${pick(NOUNS)}-${randomInt(1000, 10000)}` as AppName;
}

/** A Heroku-style add-on name: postgresql-golden-48213. */
export function randomAddonName(service: string): string {
  return `${service}-${ADJECTIVES[randomInt(ADJECTIVES.length)]}-${randomInt(10000, 100000)}`;
}

/** An add-on's name as given by a user (ours look like postgresql-golden-48213). */
export const ADDON_NAME = /^[a-z][a-z0-9-]{2,60}$/;

/** An attachment's name: what its config var is called without _URL (DATABASE, HEROKU_POSTGRESQL_PINK). */
export const ATTACHMENT_NAME = /^[A-Z][A-Z0-9_]{0,60}$/;
