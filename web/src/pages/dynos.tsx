import { useState } from 'preact/hooks';
import { api, type Dyno, type Formation } from '../api';
import { bytes, cpuPercents, since } from '../format';
import { useAction, useNow, usePoll } from '../hooks';
import { href } from '../route';
import { Confirm, DataTable, Empty, ErrorNote, Loading, Sparkline, StateBadge } from '../ui';
import type { AppData } from './app';

/** Every dyno: state, release, uptime, restarts, memory and CPU with a small chart; restart one or all. */
export function DynosTab({ app, dynos, samples }: AppData) {
  const now = useNow(1000);
  const [confirmAll, setConfirmAll] = useState(false);
  const restartOne = useAction(async (name: string) => {
    await api.restartDyno(app.name, name);
    await dynos.refresh();
  });
  const restartAll = useAction(async () => {
    await api.restartAll(app.name);
    setConfirmAll(false);
    await dynos.refresh();
  });
  const list = dynos.data ?? [];
  return (
    <div>
      <div class="section-head">
        <h2>Dynos</h2>
        <button type="button" onClick={() => setConfirmAll(true)} disabled={list.length === 0}>
          Restart all dynos
        </button>
      </div>
      <ErrorNote error={dynos.error} what="Could not load the dynos" />
      <ErrorNote error={restartOne.error} what="Restart failed" />
      {dynos.loading && !dynos.data ? <Loading what="dynos" /> : null}
      {dynos.data && list.length === 0 ? (
        <Empty>
          No dynos are running. <a href={href.app(app.name, 'scaling')}>Scale a process type</a> up, or push code if there is no release yet.
        </Empty>
      ) : null}
      {list.length > 0 ? (
        <DataTable name="dynos" columns={['Dyno', 'State', 'Release', 'Uptime', 'Restarts', 'Memory', 'CPU']} actions>
          {list.map((d) => (
            <DynoRow key={d.id} d={d} now={now} history={samples.get(d.id) ?? []} busy={restartOne.busy} onRestart={() => void restartOne.run(d.name)} />
          ))}
        </DataTable>
      ) : null}
      <Confirm
        open={confirmAll}
        title={`Restart every dyno of ${app.name}?`}
        confirmLabel="Restart all"
        busy={restartAll.busy}
        error={restartAll.error}
        onConfirm={() => void restartAll.run()}
        onCancel={() => (setConfirmAll(false), restartAll.clear())}
      >
        <p>Web dynos are replaced one by one behind the router; requests in flight finish first.</p>
      </Confirm>
    </div>
  );
}

function DynoRow({ d, now, history, busy, onRestart }: { d: Dyno; now: number; history: { at: number; memoryBytes: number | null; cpuSeconds: number | null }[]; busy: boolean; onRestart(): void }) {
  const cpu = cpuPercents(history);
  const lastCpu = cpu.at(-1);
  const mem = history.map((s) => s.memoryBytes);
  const limit = d.stats.memory_limit_bytes;
  return (
    <tr data-dyno={d.name} data-state={d.state}>
      <th scope="row">
        {d.name}
        <div class="muted small">
          <code>{d.command}</code>
        </div>
      </th>
      <td>
        <StateBadge state={d.state} />
        {d.state === 'crashed' && d.exit_code !== null ? <span class="muted small"> exit {d.exit_code}</span> : null}
      </td>
      <td>v{d.release.version}</td>
      <td>{d.state === 'up' || d.state === 'starting' ? since(d.started_at ?? d.created_at, now) : '—'}</td>
      <td>{d.restarts}</td>
      <td class="figure">
        <span>
          {bytes(d.stats.memory_bytes)}
          {limit ? <span class="muted small"> / {bytes(limit)}</span> : null}
        </span>
        <Sparkline values={mem} max={limit ?? undefined} label={`Memory of ${d.name}, last ${mem.length} samples`} />
      </td>
      <td class="figure">
        <span>{lastCpu === null || lastCpu === undefined ? '—' : `${lastCpu.toFixed(1)}%`}</span>
        <Sparkline values={cpu} max={100} label={`CPU of ${d.name}, percent of one core`} />
      </td>
      <td>
        <button type="button" onClick={onRestart} disabled={busy} aria-label={`Restart ${d.name}`}>
          Restart
        </button>
      </td>
    </tr>
  );
}

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
