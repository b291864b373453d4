import { useState } from 'preact/hooks';
import { addonsApi, PLANS, type Addon, type Transfer } from '../addons-api';
import { localTime } from '../format';
import { useAction, usePoll } from '../hooks';
import { Confirm, DataTable, Empty, ErrorNote, ListStates, StateBadge } from '../ui';
import type { AppData } from './app';

const plan = (a: Addon) => a.plan.name.replace(/^heroku-/, '');
const size = (n: number | null) => (n === null ? '' : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} kB` : `${(n / 1024 / 1024).toFixed(1)} MB`);

/** Backups of the app's databases: the list with status and size, capture, restore (confirmed by the app's name). */
function Backups({ app, databases }: { app: string; databases: Addon[] }) {
  const transfers = usePoll(() => addonsApi.transfers(app), 3000, [app]);
  const [restoring, setRestoring] = useState<Transfer | undefined>(undefined);
  const capture = useAction(async (a: Addon) => {
    await addonsApi.capture(a.id);
    await transfers.refresh();
  });
  const restore = useAction(async () => {
    const target = databases.find((d) => d.name === restoring?.addon.name) ?? databases[0];
    if (!restoring?.to_url || !target) return;
    await addonsApi.restore(target.id, restoring.to_url);
    setRestoring(undefined);
    await transfers.refresh();
  });
  const list = [...(transfers.data ?? [])].reverse();
  return (
    <section aria-label="Backups">
      <h2>Backups</h2>
      {databases.map((d) => (
        <button key={d.id} type="button" disabled={capture.busy} onClick={() => void capture.run(d)}>
          {capture.busy ? 'Capturing…' : `Capture a backup of ${d.name}`}
        </button>
      ))}
      <ErrorNote error={capture.error} what="Could not start the backup" />
      <ListStates error={{ error: transfers.error, what: 'Could not load the backups' }} empty={transfers.data && list.length === 0 ? <Empty>No backups yet.</Empty> : undefined} />
      {list.length > 0 ? (
        <DataTable name="backups" columns={['Backup', 'Database', 'Taken', 'Status', 'Size']} actions>
          {list.map((t) => (
            <tr key={t.uuid} data-backup={t.name}>
              <th scope="row">{t.name}</th>
              <td>{t.from_name} ({t.addon.name})</td>
              <td>{localTime(t.created_at)}</td>
              <td>
                <StateBadge state={t.status} />
                {t.error ? <div class="muted">{t.error}</div> : null}
              </td>
              <td>{size(t.source_bytes)}</td>
              <td>
                {t.to_type !== 'pg_restore' && t.status === 'succeeded' ? (
                  <button type="button" onClick={() => setRestoring(t)} aria-label={`Restore ${t.name}`}>
                    Restore
                  </button>
                ) : null}
              </td>
            </tr>
          ))}
        </DataTable>
      ) : null}
      <Confirm open={!!restoring} title={`Restore ${restoring?.name ?? ''}?`} confirmLabel="Restore" danger typeToConfirm={app}
        busy={restore.busy} error={restore.error} onConfirm={() => void restore.run()} onCancel={() => setRestoring(undefined)}>
        <p>The database's data is replaced by the backup's. A restore that fails leaves it as it was.</p>
      </Confirm>
    </section>
  );
}

/** Resources: the app's add-ons (plan, state, the config var each sets), creating and destroying them, backups. */
export function ResourcesTab({ app }: Pick<AppData, 'app'>) {
  const addons = usePoll(() => addonsApi.list(app.name), 5000, [app.name]);
  const [choice, setChoice] = useState(PLANS[0]);
  const [destroying, setDestroying] = useState<Addon | undefined>(undefined);
  const create = useAction(async () => {
    await addonsApi.create(app.name, choice);
    await addons.refresh();
  });
  const destroy = useAction(async () => {
    if (!destroying) return;
    await addonsApi.destroy(app.name, destroying.id);
    setDestroying(undefined);
    await addons.refresh();
  });
  const list = addons.data ?? [];
  const databases = list.filter((a) => a.addon_service.name === 'heroku-postgresql');
  return (
    <>
      <section aria-label="Add-ons">
        <h2>Add-ons</h2>
        <ListStates error={{ error: addons.error, what: 'Could not load the add-ons' }} loading={addons.loading && !addons.data ? 'add-ons' : undefined}
          empty={addons.data && list.length === 0 ? <Empty>No add-ons. Create a database or a Redis below.</Empty> : undefined} />
        {list.length > 0 ? (
          <DataTable name="add-ons" columns={['Add-on', 'Plan', 'State', 'Config vars']} actions>
            {list.map((a) => (
              <tr key={a.id} data-addon={a.name}>
                <th scope="row">
                  {a.name}
                  {a.app.name !== app.name ? <div class="muted">from {a.app.name}</div> : null}
                </th>
                <td>{plan(a)}</td>
                <td><StateBadge state={a.state} /></td>
                <td>{a.attachments.filter((t) => t.app.name === app.name).map((t) => `${t.name}_URL`).join(', ')}</td>
                <td>
                  {a.app.name === app.name ? (
                    <button type="button" class="danger" onClick={() => setDestroying(a)} aria-label={`Destroy ${a.name}`}>
                      Destroy
                    </button>
                  ) : null}
                </td>
              </tr>
            ))}
          </DataTable>
        ) : null}
        <form aria-label="Create an add-on" onSubmit={(e) => (e.preventDefault(), void create.run())}>
          <label class="field">
            Plan
            <select name="plan" value={choice} onChange={(e) => setChoice(e.currentTarget.value)}>
              {PLANS.map((p) => <option key={p} value={p}>{p}</option>)}
            </select>
          </label>
          <button type="submit" class="primary" disabled={create.busy}>
            {create.busy ? 'Creating…' : 'Create add-on'}
          </button>
        </form>
        <ErrorNote error={create.error} what="Could not create the add-on" />
        <Confirm open={!!destroying} title={`Destroy ${destroying?.name ?? ''}?`} confirmLabel="Destroy" danger typeToConfirm={app.name}
          busy={destroy.busy} error={destroy.error} onConfirm={() => void destroy.run()} onCancel={() => setDestroying(undefined)}>
          <p>Its data and backups are deleted for good, and its config var is removed from every app it is attached to.</p>
        </Confirm>
      </section>
      {databases.length > 0 ? <Backups app={app.name} databases={databases} /> : null}
    </>
  );
}
