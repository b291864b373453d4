import { useState } from 'preact/hooks';
import { api, type Dyno, type Formation } from '../api';
import { bytes } from '../format';
import { useAction, useNow, usePoll } from '../hooks';
import { DataTable, Empty, ErrorNote, Loading } from '../ui';
import type { AppData } from './app';

interface Target {
  quantities: Record<string, number>;
  since: number;
}

/** Quantity and size per process type, applied with one click; progress until the dynos are up. */
export function ScalingTab({ app, formation, dynos }: AppData) {
  const sizes = usePoll(() => api.dynoSizes(), 60_000, []);
  const [edits, setEdits] = useState<Record<string, { quantity: string; size: string }>>({});
  const [target, setTarget] = useState<Target | undefined>(undefined);
  const now = useNow(1000);
  const rows = formation.data ?? [];

  const value = (f: Formation) => edits[f.type] ?? { quantity: String(f.quantity), size: f.size };
  const changed = rows.filter((f) => {
    const v = value(f);
    return v.quantity !== String(f.quantity) || v.size !== f.size;
  });
  const apply = useAction(async () => {
    const updates = changed.map((f) => ({ type: f.type, quantity: Number(value(f).quantity), size: value(f).size }));
    for (const u of updates) {
      if (!Number.isInteger(u.quantity) || u.quantity < 0) throw new Error(`The quantity of ${u.type} must be a whole number, 0 or more.`);
    }
    await api.scale(app.name, updates);
    setEdits({});
    setTarget({ quantities: Object.fromEntries(updates.map((u) => [u.type, u.quantity])), since: Date.now() });
    await Promise.all([formation.refresh(), dynos.refresh()]);
  });

  const progress = target ? Object.entries(target.quantities).map(([type, want]) => scaleProgress(type, want, dynos.data ?? [])) : [];
  const done = progress.length > 0 && progress.every((p) => p.done);
  return (
    <div>
      <h2>Scaling</h2>
      <ErrorNote error={formation.error} what="Could not load the formation" />
      <ErrorNote error={sizes.error} what="Could not load the dyno sizes" />
      {formation.loading && !formation.data ? <Loading what="the formation" /> : null}
      {formation.data && rows.length === 0 ? <Empty>No process types yet: push code, and the Procfile's types appear here.</Empty> : null}
      {rows.length > 0 ? (
        <form
          aria-label="Scale process types"
          onSubmit={(e) => {
            e.preventDefault();
            void apply.run();
          }}
        >
          <DataTable name="scaling" columns={['Process type', 'Quantity', 'Size']}>
            {rows.map((f) => (
              <tr key={f.type} data-type={f.type}>
                <th scope="row">
                  {f.type}
                  <div class="muted small">
                    <code>{f.command}</code>
                  </div>
                </th>
                <td>
                  <input
                    type="number"
                    min={0}
                    step={1}
                    inputMode="numeric"
                    aria-label={`Quantity of ${f.type}`}
                    value={value(f).quantity}
                    onInput={(e) => setEdits({ ...edits, [f.type]: { ...value(f), quantity: e.currentTarget.value } })}
                  />
                </td>
                <td>
                  <select aria-label={`Size of ${f.type}`} value={value(f).size} onChange={(e) => setEdits({ ...edits, [f.type]: { ...value(f), size: e.currentTarget.value } })}>
                    {(sizes.data ?? [{ name: f.size, memory_bytes: 0, cpu_shares: 0 }]).map((s) => (
                      <option key={s.name} value={s.name}>
                        {s.name}
                        {s.memory_bytes ? ` (${bytes(s.memory_bytes)})` : ''}
                      </option>
                    ))}
                  </select>
                </td>
              </tr>
            ))}
          </DataTable>
          <ErrorNote error={apply.error} what="Scaling failed" />
          <div class="actions">
            <button type="submit" class="primary" disabled={changed.length === 0 || apply.busy}>
              {apply.busy ? 'Applying…' : changed.length ? `Apply (${changed.map((f) => `${f.type}=${value(f).quantity}:${value(f).size}`).join(' ')})` : 'Apply'}
            </button>
            {changed.length ? (
              <button type="button" onClick={() => setEdits({})}>
                Undo changes
              </button>
            ) : null}
          </div>
        </form>
      ) : null}
      {target ? (
        <div class="progress" role="status" aria-live="polite">
          {progress.map((p) => (
            <p key={p.type} data-progress={p.type}>
              <progress max={Math.max(1, p.want)} value={p.want === 0 ? (p.done ? 1 : 0) : p.up} /> {p.type}: {p.up} of {p.want} up
              {p.starting ? `, ${p.starting} starting` : ''}
              {p.leaving ? `, ${p.leaving} stopping` : ''}
              {p.crashed ? <span class="bad">, {p.crashed} crashed</span> : null}
            </p>
          ))}
          <p class={done ? 'ok' : 'muted'}>{done ? `Done: ${progress.map((p) => `${p.type}=${p.want}`).join(' ')}` : `Scaling… ${Math.round((now - target.since) / 1000)}s`}</p>
        </div>
      ) : null}
    </div>
  );
}

function scaleProgress(type: string, want: number, dynos: Dyno[]) {
  const mine = dynos.filter((d) => d.type === type);
  const count = (s: string) => mine.filter((d) => d.state === s).length;
  const up = count('up');
  const leaving = count('stopping') + count('down');
  return { type, want, up, starting: count('starting'), crashed: count('crashed'), leaving, done: up === want && mine.length - leaving === want };
}
