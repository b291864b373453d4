import { useState } from 'preact/hooks';
import { api, type Dyno } from '../api';
import { bytes, cpuPercents, since } from '../format';
import { useAction, useNow } from '../hooks';
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
