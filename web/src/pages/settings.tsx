import { useState } from 'preact/hooks';
import { api } from '../api';
import { useAction, usePoll } from '../hooks';
import { go, href } from '../route';
import { Confirm, DataTable, ErrorNote, ListStates } from '../ui';
import type { AppData } from './app';
import { CertificatesSection } from './certificates';

/** Domains, HTTPS, maintenance mode, and destroying the app. */
export function SettingsTab({ app, refreshApp }: AppData) {
  const domains = usePoll(() => api.domains(app.name), 5000, [app.name]);
  const [hostname, setHostname] = useState('');
  const [removing, setRemoving] = useState<string | undefined>(undefined);
  const [destroying, setDestroying] = useState(false);
  const add = useAction(async () => {
    await api.addDomain(app.name, hostname.trim());
    setHostname('');
    await domains.refresh();
  });
  const remove = useAction(async () => {
    if (!removing) return;
    await api.removeDomain(app.name, removing);
    setRemoving(undefined);
    await domains.refresh();
  });
  // The switch moves at once; the label says what the API has confirmed.
  const [switching, setSwitching] = useState<boolean | undefined>(undefined);
  const maintenance = useAction(async (on: boolean) => {
    setSwitching(on);
    try {
      await api.updateApp(app.name, { maintenance: on });
      await refreshApp();
    } finally {
      setSwitching(undefined);
    }
  });
  const destroy = useAction(async () => {
    await api.destroyApp(app.name);
    go(href.apps());
  });
  const list = domains.data ?? [];
  return (
    <div class="settings">
      <h2>Domains</h2>
      <ListStates
        error={{ error: domains.error, what: 'Could not load the domains' }}
        loading={domains.loading && !domains.data ? 'domains' : undefined}
        empty={domains.data && list.length === 0 ? 'No domains.' : undefined}
      />
      {list.length > 0 ? (
        <DataTable name="domains" columns={['Hostname', 'Kind', 'DNS target (CNAME)']} actions>
          {list.map((d) => (
            <tr key={d.id} data-domain={d.hostname}>
              <th scope="row">{d.hostname}</th>
              <td>{d.kind === 'heroku' ? 'default' : 'custom'}</td>
              <td>{d.cname ?? '—'}</td>
              <td>
                {d.kind === 'custom' ? (
                  <button type="button" class="danger" onClick={() => setRemoving(d.hostname)} aria-label={`Remove ${d.hostname}`}>
                    Remove
                  </button>
                ) : null}
              </td>
            </tr>
          ))}
        </DataTable>
      ) : null}
      <form
        class="row wrap"
        aria-label="Add a domain"
        onSubmit={(e) => {
          e.preventDefault();
          void add.run();
        }}
      >
        <label class="field grow">
          Add a domain
          <input name="hostname" value={hostname} onInput={(e) => setHostname(e.currentTarget.value)} placeholder="www.example.com" autoComplete="off" spellcheck={false} required />
        </label>
        <button type="submit" class="primary" disabled={add.busy}>
          {add.busy ? 'Adding…' : 'Add domain'}
        </button>
      </form>
      <ErrorNote error={add.error} what="Could not add the domain" />

      <CertificatesSection app={app} refreshApp={refreshApp} />

      <h2>Maintenance mode</h2>
      <p class="muted">While it is on, the router answers every request with a maintenance page (H80); dynos keep running.</p>
      <label class="switch">
        <input type="checkbox" role="switch" checked={switching ?? app.maintenance} disabled={maintenance.busy} onChange={(e) => void maintenance.run(e.currentTarget.checked)} />
        {switching === undefined ? `Maintenance mode is ${app.maintenance ? 'on' : 'off'}` : `Turning maintenance mode ${switching ? 'on' : 'off'}…`}
      </label>
      <ErrorNote error={maintenance.error} what="Could not change maintenance mode" />

      <h2 class="danger-zone">Destroy the app</h2>
      <p class="muted">Stops every dyno and deletes the repository, releases, config vars, domains and logs. It cannot be undone.</p>
      <button type="button" class="danger" onClick={() => setDestroying(true)}>
        Destroy {app.name}…
      </button>
      <Confirm
        open={removing !== undefined}
        title={`Remove ${removing ?? ''}?`}
        confirmLabel="Remove domain"
        danger
        busy={remove.busy}
        error={remove.error}
        onConfirm={() => void remove.run()}
        onCancel={() => (setRemoving(undefined), remove.clear())}
      >
        <p>The router stops sending this name to {app.name} at once.</p>
      </Confirm>
      <Confirm
        open={destroying}
        title={`Destroy ${app.name}?`}
        confirmLabel="Destroy app"
        danger
        typeToConfirm={app.name}
        busy={destroy.busy}
        error={destroy.error}
        onConfirm={() => void destroy.run()}
        onCancel={() => (setDestroying(false), destroy.clear())}
      >
        <p>Everything of {app.name} is deleted. This cannot be undone.</p>
      </Confirm>
    </div>
  );
}
