import { useState } from 'preact/hooks';
import { api, type Release } from '../api';
import { useAction, usePoll } from '../hooks';
import { href } from '../route';
import { Confirm, DataTable, Empty, ErrorNote, Loading } from '../ui';
import type { AppData } from './app';

const MASK = '••••••••';

/** Config vars: hidden until revealed; add, edit, remove; each save names the release it made. */
export function ConfigTab({ app }: AppData) {
  const vars = usePoll(() => api.configVars(app.name), 5000, [app.name]);
  const [revealed, setRevealed] = useState<Set<string>>(new Set());
  const [revealAll, setRevealAll] = useState(false);
  const [editing, setEditing] = useState<{ key: string; value: string } | undefined>(undefined);
  const [newKey, setNewKey] = useState('');
  const [newValue, setNewValue] = useState('');
  const [removing, setRemoving] = useState<string | undefined>(undefined);
  const [made, setMade] = useState<{ what: string; release?: Release } | undefined>(undefined);

  /** One PATCH; the release it made is the newest one (release creation is serialized per app). */
  const save = async (patch: Record<string, string | null>, what: string) => {
    await api.setConfigVars(app.name, patch);
    const [release] = await api.releases(app.name, 1);
    setMade({ what, release });
    await vars.refresh();
  };
  const add = useAction(async () => {
    const key = newKey.trim();
    if (!key) throw new Error('Give the config var a name.');
    await save({ [key]: newValue }, `Set ${key}`);
    setNewKey('');
    setNewValue('');
  });
  const edit = useAction(async () => {
    if (!editing) return;
    await save({ [editing.key]: editing.value }, `Set ${editing.key}`);
    setEditing(undefined);
  });
  const remove = useAction(async () => {
    if (!removing) return;
    await save({ [removing]: null }, `Removed ${removing}`);
    setRemoving(undefined);
  });

  const entries = Object.entries(vars.data ?? {}).sort(([a], [b]) => a.localeCompare(b));
  const shown = (k: string) => revealAll || revealed.has(k);
  const toggle = (k: string) => {
    const next = new Set(revealed);
    if (next.has(k)) next.delete(k);
    else next.add(k);
    setRevealed(next);
  };
  return (
    <div>
      <div class="section-head">
        <h2>Config vars</h2>
        <button type="button" onClick={() => setRevealAll(!revealAll)} aria-pressed={revealAll} disabled={entries.length === 0}>
          {revealAll ? 'Hide values' : 'Reveal all values'}
        </button>
      </div>
      {made ? (
        <p class="ok" role="status" data-release={made.release?.version}>
          {made.what}: release{' '}
          {made.release ? (
            <a href={href.app(app.name, 'releases')}>
              v{made.release.version}
            </a>
          ) : (
            'made'
          )}
          {made.release ? ` (${made.release.description})` : ''}
        </p>
      ) : null}
      <ErrorNote error={vars.error} what="Could not load the config vars" />
      <ErrorNote error={edit.error} what="Could not save" />
      {vars.loading && !vars.data ? <Loading what="config vars" /> : null}
      {vars.data && entries.length === 0 ? <Empty>No config vars yet.</Empty> : null}
      {entries.length > 0 ? (
        <DataTable name="config" columns={['Key', 'Value']} actions>
          {entries.map(([k, v]) => (
            <tr key={k} data-key={k}>
              <th scope="row">
                <code>{k}</code>
              </th>
              <td class="value">
                {editing?.key === k ? (
                  <form
                    class="row"
                    aria-label={`Edit ${k}`}
                    onSubmit={(e) => {
                      e.preventDefault();
                      void edit.run();
                    }}
                  >
                    <textarea aria-label={`Value of ${k}`} rows={Math.min(6, editing.value.split('\n').length)} value={editing.value} onInput={(e) => setEditing({ key: k, value: e.currentTarget.value })} spellcheck={false} autoFocus />
                    <button type="submit" class="primary" disabled={edit.busy}>
                      {edit.busy ? 'Saving…' : 'Save'}
                    </button>
                    <button type="button" onClick={() => (setEditing(undefined), edit.clear())}>
                      Cancel
                    </button>
                  </form>
                ) : (
                  <code class={shown(k) ? '' : 'masked'}>{shown(k) ? v : MASK}</code>
                )}
              </td>
              <td class="buttons">
                {editing?.key === k ? null : (
                  <>
                    <button type="button" onClick={() => toggle(k)} aria-label={`${shown(k) ? 'Hide' : 'Reveal'} ${k}`} disabled={revealAll}>
                      {shown(k) ? 'Hide' : 'Reveal'}
                    </button>
                    <button type="button" onClick={() => setEditing({ key: k, value: v })} aria-label={`Edit ${k}`}>
                      Edit
                    </button>
                    <button type="button" class="danger" onClick={() => setRemoving(k)} aria-label={`Remove ${k}`}>
                      Remove
                    </button>
                  </>
                )}
              </td>
            </tr>
          ))}
        </DataTable>
      ) : null}
      <form
        class="card add-var"
        aria-label="Add a config var"
        onSubmit={(e) => {
          e.preventDefault();
          void add.run();
        }}
      >
        <h3>Add a config var</h3>
        <div class="row wrap">
          <label class="field">
            Key
            <input name="key" value={newKey} onInput={(e) => setNewKey(e.currentTarget.value)} placeholder="DATABASE_URL" autoComplete="off" spellcheck={false} required />
          </label>
          <label class="field grow">
            Value
            <input name="value" value={newValue} onInput={(e) => setNewValue(e.currentTarget.value)} autoComplete="off" spellcheck={false} />
          </label>
          <button type="submit" class="primary" disabled={add.busy}>
            {add.busy ? 'Adding…' : 'Add'}
          </button>
        </div>
        <ErrorNote error={add.error} what="Could not add" />
      </form>
      <Confirm
        open={removing !== undefined}
        title={`Remove ${removing ?? ''}?`}
        confirmLabel="Remove"
        danger
        busy={remove.busy}
        error={remove.error}
        onConfirm={() => void remove.run()}
        onCancel={() => (setRemoving(undefined), remove.clear())}
      >
        <p>This makes a new release and restarts the dynos without it.</p>
      </Confirm>
    </div>
  );
}
