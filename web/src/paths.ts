/**
 * The page's own routes live after # (#/apps/NAME/TAB): the API owns every real path on this origin. Pure (no DOM),
 * so the unit tests run it under node.
 */

export const TABS = ['overview', 'resources', 'dynos', 'scaling', 'config', 'releases', 'builds', 'logs', 'settings'] as const;
export type Tab = (typeof TABS)[number];

export type Route =
  | { page: 'login' }
  | { page: 'apps' }
  | { page: 'account' }
  | { page: 'app'; app: string; tab: Tab; build?: string }
  | { page: 'missing'; path: string };

/** The same shape the API accepts for app names (server/names.ts). */
const APP = '[a-z][a-z0-9-]{1,29}';
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const APP_ROUTE = new RegExp(`^/apps/(${APP})(?:/([a-z]+)(?:/(${UUID}))?)?/?$`);

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '') || '/';
  if (path === '/' || path === '/apps') return { page: 'apps' };
  if (path === '/login') return { page: 'login' };
  if (path === '/account') return { page: 'account' };
  const m = APP_ROUTE.exec(path);
  if (m) {
    const tab = (m[2] ?? 'overview') as Tab;
    if (!TABS.includes(tab) || (m[3] && tab !== 'builds')) return { page: 'missing', path };
    return { page: 'app', app: m[1], tab, build: m[3] };
  }
  return { page: 'missing', path };
}

export const href = {
  apps: () => '#/',
  login: () => '#/login',
  account: () => '#/account',
  app: (app: string, tab: Tab = 'overview') => (tab === 'overview' ? `#/apps/${app}` : `#/apps/${app}/${tab}`),
  build: (app: string, id: string) => `#/apps/${app}/builds/${id}`,
};
