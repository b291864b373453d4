import { useEffect, useRef } from 'preact/hooks';
import { api, type App, type Dyno, type Formation } from '../api';
import type { Sample } from '../format';
import { usePoll, type Polled } from '../hooks';
import { href, TABS, type Tab } from '../route';
import { ErrorNote, Loading } from '../ui';
import { BuildsTab, ReleasesTab } from './releases';
import { ConfigTab } from './config';
import { DynosTab } from './dynos';
import { ScalingTab } from './scaling';
import { LogsTab } from './logs';
import { OverviewTab } from './overview';
import { SettingsTab } from './settings';
import { ResourcesTab } from './resources';

export interface AppData {
  app: App;
  refreshApp(): Promise<void>;
  dynos: Polled<Dyno[]>;
  formation: Polled<Formation[]>;
  /** Recent stats samples per dyno id, oldest first (for the charts). */
  samples: Map<string, Sample[]>;
}

const TAB_LABELS: Record<Tab, string> = {
  overview: 'Overview',
  resources: 'Resources',
  dynos: 'Dynos',
  scaling: 'Scaling',
  config: 'Config vars',
  releases: 'Releases',
  builds: 'Builds',
  logs: 'Logs',
  settings: 'Settings',
};
const KEEP_SAMPLES = 40;

/** One app: a header, the tabs, and the app's live state (the app, its dynos and formation, polled). Keyed by name. */
export function AppPage({ name, tab, build }: { name: string; tab: Tab; build?: string }) {
  const app = usePoll(() => api.app(name), 5000, [name]);
  const dynos = usePoll(() => api.dynos(name), 2000, [name]);
  const formation = usePoll(() => api.formation(name), 4000, [name]);
  const samples = useRef(new Map<string, Sample[]>());
  useEffect(() => {
    for (const d of dynos.data ?? []) {
      if (!d.stats.sampled_at) continue;
      const list = samples.current.get(d.id) ?? [];
      const at = Date.parse(d.stats.sampled_at);
      if (list.at(-1)?.at === at) continue;
      list.push({ at, memoryBytes: d.stats.memory_bytes, cpuSeconds: d.stats.cpu_seconds });
      if (list.length > KEEP_SAMPLES) list.shift();
      samples.current.set(d.id, list);
    }
  }, [dynos.data]);
  useEffect(() => {
    document.title = `${name} · Slipway`;
  }, [name]);

  if (!app.data) {
    return (
      <main>
        <h1>{name}</h1>
        {app.error ? <ErrorNote error={app.error} what={`Could not load ${name}`} /> : <Loading what={name} />}
        <p>
          <a href={href.apps()}>Back to the apps</a>
        </p>
      </main>
    );
  }
  const data: AppData = { app: app.data, refreshApp: app.refresh, dynos, formation, samples: samples.current };
  return (
    <main class="app-page">
      <div class="page-head">
        <h1>
          <a href={href.apps()} class="crumb">
            Apps
          </a>{' '}
          / {app.data.name}
          {app.data.maintenance ? <span class="badge maintenance">maintenance</span> : null}
        </h1>
        <a class="open-app" href={app.data.web_url} target="_blank" rel="noopener noreferrer">
          Open app ↗
        </a>
      </div>
      <ErrorNote error={app.error} what="Could not refresh the app" />
      <nav class="tabs" aria-label="App sections">
        {TABS.map((t) => (
          <a key={t} href={href.app(name, t)} aria-current={t === tab ? 'page' : undefined}>
            {TAB_LABELS[t]}
          </a>
        ))}
      </nav>
      <section class="tab-body" aria-label={TAB_LABELS[tab]}>
        {tab === 'overview' && <OverviewTab {...data} />}
        {tab === 'resources' && <ResourcesTab {...data} />}
        {tab === 'dynos' && <DynosTab {...data} />}
        {tab === 'scaling' && <ScalingTab {...data} />}
        {tab === 'config' && <ConfigTab {...data} />}
        {tab === 'releases' && <ReleasesTab {...data} />}
        {tab === 'builds' && <BuildsTab {...data} build={build} />}
        {tab === 'logs' && <LogsTab {...data} />}
        {tab === 'settings' && <SettingsTab {...data} />}
      </section>
    </main>
  );
}
