import { useEffect, useRef, useState } from 'preact/hooks';
import { api, type Build, type Release } from '../api';
import { ago, duration, localTime } from '../format';
import { useAction, useNow, usePoll } from '../hooks';
import { href } from '../route';
import { Confirm, DataTable, Empty, ErrorNote, Loading, StateBadge } from '../ui';
import type { AppData } from './app';

/** Releases, newest first; roll back to an earlier one after a confirmation. */
export function ReleasesTab({ app, dynos }: AppData) {
  const releases = usePoll(() => api.releases(app.name, 100), 3000, [app.name]);
  const now = useNow(5000);
  const [target, setTarget] = useState<Release | undefined>(undefined);
  const [made, setMade] = useState<Release | undefined>(undefined);
  const rollback = useAction(async () => {
    if (!target) return;
    setMade(await api.rollback(app.name, target.id));
    setTarget(undefined);
    await Promise.all([releases.refresh(), dynos.refresh()]);
  });
  const list = releases.data ?? [];
  return (
    <div>
      <h2>Releases</h2>
      {made ? (
        <p class="ok" role="status">
          Rolled back: v{made.version} ({made.description})
        </p>
      ) : null}
      <ErrorNote error={releases.error} what="Could not load the releases" />
      {releases.loading && !releases.data ? <Loading what="releases" /> : null}
      {releases.data && list.length === 0 ? <Empty>No releases yet: push code, or set a config var.</Empty> : null}
      {list.length > 0 ? (
        <DataTable name="releases" columns={['Version', 'Description', 'By', 'When', 'Status']} actions>
          {list.map((r) => (
            <tr key={r.id} data-version={r.version}>
              <th scope="row">
                v{r.version}
                {r.current ? <span class="badge current">current</span> : null}
              </th>
              <td>{r.description}</td>
              <td>{r.user.email}</td>
              <td title={localTime(r.created_at)}>{ago(r.created_at, now)}</td>
              <td>
                <StateBadge state={r.status} />
              </td>
              <td>
                {!r.current && r.eligible_for_rollback ? (
                  <button type="button" onClick={() => setTarget(r)}>
                    Roll back to v{r.version}
                  </button>
                ) : null}
              </td>
            </tr>
          ))}
        </DataTable>
      ) : null}
      <Confirm
        open={target !== undefined}
        title={`Roll back to v${target?.version ?? ''}?`}
        confirmLabel={`Roll back to v${target?.version ?? ''}`}
        busy={rollback.busy}
        error={rollback.error}
        onConfirm={() => void rollback.run()}
        onCancel={() => (setTarget(undefined), rollback.clear())}
      >
        <p>
          A new release is made with the code and config vars of v{target?.version} ({target?.description}); the dynos switch to it without downtime.
        </p>
      </Confirm>
    </div>
  );
}

const buildTime = (b: Build, now: number) => (b.started_at ? duration((b.finished_at ? Date.parse(b.finished_at) : now) - Date.parse(b.started_at)) : '—');

/** Builds with status and duration; one build's log, live while it runs. */
export function BuildsTab({ app, build }: AppData & { build?: string }) {
  const builds = usePoll(() => api.builds(app.name, 50), 3000, [app.name]);
  const now = useNow(1000);
  const list = builds.data ?? [];
  const open = list.find((b) => b.id === build);
  return (
    <div>
      <h2>Builds</h2>
      <ErrorNote error={builds.error} what="Could not load the builds" />
      {builds.loading && !builds.data ? <Loading what="builds" /> : null}
      {builds.data && list.length === 0 ? (
        <Empty>
          No builds yet: <code>git push slipway main</code>.
        </Empty>
      ) : null}
      {list.length > 0 ? (
        <DataTable name="builds" columns={['Started', 'Status', 'Duration', 'Version', 'Release', 'By']}>
          {list.map((b) => (
            <tr key={b.id} data-build={b.id} class={b.id === build ? 'selected' : ''}>
              <th scope="row">
                <a href={href.build(app.name, b.id)} aria-current={b.id === build ? 'true' : undefined}>
                  {ago(b.created_at, now)}
                </a>
              </th>
              <td>
                <StateBadge state={b.status} />
              </td>
              <td>{buildTime(b, now)}</td>
              <td>
                <code>{b.source_blob.version?.slice(0, 12) ?? '—'}</code>
              </td>
              <td>{b.release ? `v${b.release.version}` : '—'}</td>
              <td>{b.user.email}</td>
            </tr>
          ))}
        </DataTable>
      ) : null}
      {build ? <BuildLog app={app.name} id={build} status={open?.status} error={open?.error ?? null} /> : null}
    </div>
  );
}

function BuildLog({ app, id, status, error }: { app: string; id: string; status?: Build['status']; error: string | null }) {
  const [lines, setLines] = useState<string[]>([]);
  const [state, setState] = useState<'streaming' | 'ended' | 'failed'>('streaming');
  const [problem, setProblem] = useState<string | undefined>(undefined);
  const pre = useRef<HTMLPreElement>(null);
  useEffect(() => {
    const ac = new AbortController();
    setLines([]);
    setState('streaming');
    setProblem(undefined);
    let buffer: string[] = [];
    const flush = setInterval(() => {
      if (buffer.length) {
        const add = buffer;
        buffer = [];
        setLines((l) => l.concat(add).slice(-5000));
      }
    }, 100);
    api
      .buildOutput(app, id, (line) => buffer.push(line), ac.signal)
      .then(
        () => setState('ended'),
        (e: Error) => {
          if (e.name === 'AbortError') return;
          setProblem(e.message);
          setState('failed');
        },
      )
      .finally(() => setTimeout(() => clearInterval(flush), 150));
    return () => {
      ac.abort();
      clearInterval(flush);
    };
  }, [app, id]);
  useEffect(() => {
    const el = pre.current;
    if (el && el.scrollHeight - el.scrollTop - el.clientHeight < 80) el.scrollTop = el.scrollHeight;
  }, [lines]);
  return (
    <section class="build-log" aria-label="Build output">
      <h3>
        Build output <span class="muted small">{state === 'streaming' ? (status === 'pending' ? 'live' : 'loading') : status ?? ''}</span>
      </h3>
      {error ? <p class="error">{error}</p> : null}
      {problem ? <p class="error" role="alert">{problem}</p> : null}
      <pre ref={pre} class="log" tabIndex={0}>
        {lines.join('\n')}
      </pre>
    </section>
  );
}
