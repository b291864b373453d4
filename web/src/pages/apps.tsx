import { useState } from 'preact/hooks';
import { api } from '../api';
import { ago, dynoSummary } from '../format';
import { useAction, useNow, usePoll } from '../hooks';
import { go, href } from '../route';
import { DataTable, Empty, ErrorNote, Loading } from '../ui';

/** Every app the user can see: state, release, last deploy, URL; create one; filter by name. */
export function AppsPage() {
  const apps = usePoll(() => api.apps(), 3000, []);
  const [filter, setFilter] = useState('');
  const [name, setName] = useState('');
  const now = useNow(5000);
  const create = useAction(async () => {
    const app = await api.createApp(name.trim() || undefined);
    go(href.app(app.name));
  });
  const shown = (apps.data ?? []).filter((a) => a.name.includes(filter.trim().toLowerCase()));
  return (
    <main>
      <div class="page-head">
        <h1>Apps</h1>
        <form
          class="inline-form"
          aria-label="Create an app"
          onSubmit={(e) => {
            e.preventDefault();
            void create.run();
          }}
        >
          <label class="field">
            New app name <span class="muted">(optional)</span>
            <input name="name" value={name} onInput={(e) => setName(e.currentTarget.value)} placeholder="random if empty" autoComplete="off" spellcheck={false} maxLength={30} />
          </label>
          <button type="submit" class="primary" disabled={create.busy}>
            {create.busy ? 'Creating…' : 'Create app'}
          </button>
        </form>
      </div>
      <ErrorNote error={create.error} what="Could not create the app" />
      <label class="field search">
        Filter apps
        <input type="search" value={filter} onInput={(e) => setFilter(e.currentTarget.value)} placeholder="name contains…" />
      </label>
      <ErrorNote error={apps.error} what="Could not load the apps" />
      {apps.loading && !apps.data ? <Loading what="apps" /> : null}
      {apps.data && apps.data.length === 0 ? <Empty>No apps yet. Create one here, or with <code>slipway apps:create</code>.</Empty> : null}
      {apps.data && apps.data.length > 0 && shown.length === 0 ? <Empty>No app name contains “{filter}”.</Empty> : null}
      {shown.length > 0 ? (
        <DataTable name="apps" columns={['App', 'Dynos', 'Release', 'Last deploy', 'URL']}>
          {shown.map((a) => (
            <tr key={a.id} data-app={a.name}>
              <th scope="row">
                <a href={href.app(a.name)}>{a.name}</a>
                {a.maintenance ? <span class="badge maintenance">maintenance</span> : null}
              </th>
              <td class={a.dynos?.crashed ? 'bad' : ''}>{dynoSummary(a.dynos)}</td>
              <td>{a.current_release ? `v${a.current_release.version}` : '—'}</td>
              <td title={a.released_at ?? ''}>{a.released_at ? ago(a.released_at, now) : 'never'}</td>
              <td class="url">
                <a href={a.web_url} target="_blank" rel="noopener noreferrer">
                  {a.web_url.replace(/^https?:\/\//, '').replace(/\/$/, '')}
                </a>
              </td>
            </tr>
          ))}
        </DataTable>
      ) : null}
    </main>
  );
}
