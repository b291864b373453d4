import { api } from '../api';
import { ago, bytes, dynoSummary } from '../format';
import { useNow, usePoll } from '../hooks';
import { href } from '../route';
import { CopyField, Empty, ErrorNote } from '../ui';
import type { AppData } from './app';

/** Where the app is, how to push to it, what runs. */
export function OverviewTab({ app, formation, dynos }: AppData) {
  const releases = usePoll(() => api.releases(app.name, 1), 4000, [app.name]);
  const now = useNow(5000);
  const current = releases.data?.find((r) => r.current) ?? releases.data?.[0];
  const counts: Record<string, number> = {};
  for (const d of dynos.data ?? []) counts[d.state] = (counts[d.state] ?? 0) + 1;
  return (
    <div class="overview">
      <dl class="facts">
        <dt>URL</dt>
        <dd>
          <a href={app.web_url} target="_blank" rel="noopener noreferrer">
            {app.web_url}
          </a>
        </dd>
        <dt>Current release</dt>
        <dd>
          {current ? (
            <>
              <a href={href.app(app.name, 'releases')}>v{current.version}</a> · {current.description} · {ago(current.created_at, now)}
            </>
          ) : releases.loading ? (
            '…'
          ) : (
            'none yet: push code to deploy'
          )}
        </dd>
        <dt>Dynos</dt>
        <dd>{dynos.data ? dynoSummary(counts) : '…'}</dd>
        <dt>Stack</dt>
        <dd>{app.stack.name}</dd>
        <dt>Buildpack</dt>
        <dd>{app.buildpack_provided_description ?? '—'}</dd>
        <dt>Slug / repo size</dt>
        <dd>
          {bytes(app.slug_size)} / {bytes(app.repo_size)}
        </dd>
        <dt>Owner</dt>
        <dd>{app.owner.email}</dd>
      </dl>
      <ErrorNote error={releases.error} what="Could not load the current release" />

      <h2>Deploy with git</h2>
      <CopyField label="Git remote" value={app.git_url} />
      <CopyField label="Add the remote" value={`git remote add slipway ${app.git_url}`} />
      <CopyField label="Push to deploy" value="git push slipway main" />

      <h2>Formation</h2>
      <ErrorNote error={formation.error} what="Could not load the formation" />
      {formation.data && formation.data.length === 0 ? <Empty>No process types yet: they come from the first release.</Empty> : null}
      {formation.data && formation.data.length > 0 ? (
        <ul class="formation">
          {formation.data.map((f) => (
            <li key={f.type}>
              <strong>{f.type}</strong> × {f.quantity} <span class="muted">({f.size})</span> <code>{f.command}</code>
            </li>
          ))}
        </ul>
      ) : null}
      <p>
        <a href={href.app(app.name, 'scaling')}>Change the scaling</a>
      </p>
    </div>
  );
}
