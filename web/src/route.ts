/** Hash routes (#/apps/NAME/TAB): the API owns every real path on this origin, so the page's own live after #. */
import { useEffect, useState } from 'preact/hooks';

export const TABS = ['overview', 'dynos', 'scaling', 'config', 'releases', 'builds', 'logs', 'settings'] as const;
export type Tab = (typeof TABS)[number];

export type Route =
  | { page: 'login' }
  | { page: 'apps' }
  | { page: 'app'; app: string; tab: Tab; build?: string }
  | { page: 'missing'; path: string };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '') || '/';
  if (path === '/' || path === '/apps') return { page: 'apps' };
  if (path === '/login') return { page: 'login' };
  const m = /^\/apps\/([a-z][a-z0-9-]{0,29})(?:\/([a-z]+)(?:\/([0-9a-f-]{36}))?)?\/?$/.exec(path);
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
  app: (app: string, tab: Tab = 'overview') => (tab === 'overview' ? `#/apps/${app}` : `#/apps/${app}/${tab}`),
  build: (app: string, id: string) => `#/apps/${app}/builds/${id}`,
};

export function go(to: string): void {
  if (location.hash !== to) location.hash = to;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseRoute(location.hash));
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}
