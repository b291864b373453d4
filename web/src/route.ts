import { useEffect, useState } from 'preact/hooks';
import { parseRoute, type Route } from './paths';

export { href, TABS, type Route, type Tab } from './paths';

export function go(to: string): void {
  if (location.hash !== to) location.hash = to;
}

/** The current hash route, updated on hashchange. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseRoute(location.hash));
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}
