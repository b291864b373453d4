import { useState } from 'preact/hooks';
import { api, type Domain, type SniEndpoint } from '../api';
import { localTime } from '../format';
import { useAction, usePoll } from '../hooks';
import { Confirm, DataTable, ErrorNote, ListStates } from '../ui';
import type { AppData } from './app';

/** Which certificate serves a domain over TLS, and how it came: one of the app's (uploaded or automatic) or the platform's. */
function certificateOf(d: Domain, certs: SniEndpoint[]): { text: string; issuer: string; expires: string } {
  const c = d.sni_endpoint ? certs.find((x) => x.id === d.sni_endpoint!.id) : undefined;
  if (!c) return { text: d.kind === 'heroku' ? 'Platform certificate' : d.acm_status ? `Automatic: ${d.acm_status}` : 'None (platform certificate)', issuer: '—', expires: '—' };
  return { text: c.ssl_cert.acm ? `Automatic (${c.name})` : `Uploaded (${c.name})`, issuer: c.ssl_cert.issuer, expires: localTime(c.ssl_cert.expires_at) };
}

/** A switch that moves at once; its label says what the API confirmed, or what it is doing meanwhile. */
function Switch(p: { label: string; on: boolean; onChange: (on: boolean) => Promise<unknown> }) {
  const [want, setWant] = useState<boolean | undefined>(undefined);
  return (
    <label class="switch">
      <input
        type="checkbox"
        role="switch"
        checked={want ?? p.on}
        disabled={want !== undefined}
        onChange={(e) => {
          const on = e.currentTarget.checked;
          setWant(on);
          void p.onChange(on).finally(() => setWant(undefined));
        }}
      />
      {want === undefined ? `${p.label} ${p.on ? 'on' : 'off'}` : `Turning ${p.label} ${want ? 'on' : 'off'}…`}
    </label>
  );
}

/** Settings › HTTPS: each domain's certificate, uploading and removing certificates, automatic ones, https-only and HSTS. */
export function CertificatesSection({ app, refreshApp }: Pick<AppData, 'app' | 'refreshApp'>) {
  const domains = usePoll(() => api.domains(app.name), 5000, [app.name]);
  const certs = usePoll(() => api.certificates(app.name), 5000, [app.name]);
  const features = usePoll(() => api.features(app.name), 10000, [app.name]);
  const [chain, setChain] = useState('');
  const [key, setKey] = useState('');
  const [removing, setRemoving] = useState<string | undefined>(undefined);
  const refresh = async () => {
    await Promise.all([domains.refresh(), certs.refresh()]);
  };
  const add = useAction(async () => {
    await api.addCertificate(app.name, chain, key);
    setChain('');
    setKey('');
    await refresh();
  });
  const remove = useAction(async () => {
    if (!removing) return;
    await api.removeCertificate(app.name, removing);
    setRemoving(undefined);
    await refresh();
  });
  const acm = useAction(async (on: boolean) => {
    await api.setAcm(app.name, on);
    await Promise.all([refreshApp(), refresh()]);
  });
  const feature = useAction(async (name: string, on: boolean) => {
    await api.setFeature(app.name, name, on);
    await features.refresh();
  });
  const list = domains.data ?? [];
  const uploaded = (certs.data ?? []).filter((c) => !c.ssl_cert.acm);
  const enabled = (name: string) => features.data?.find((f) => f.name === name)?.enabled ?? false;
  return (
    <section aria-label="HTTPS">
      <h2>HTTPS</h2>
      <ListStates error={{ error: domains.error ?? certs.error, what: 'Could not load the certificates' }} loading={domains.loading && !domains.data ? 'certificates' : undefined} />
      {list.length > 0 ? (
        <DataTable name="certificates" columns={['Domain', 'Certificate', 'Issuer', 'Expires']}>
          {list.map((d) => {
            const c = certificateOf(d, certs.data ?? []);
            return (
              <tr key={d.id} data-cert-domain={d.hostname}>
                <th scope="row">{d.hostname}</th>
                <td>
                  {c.text}
                  {d.acm_status_reason ? <div class="muted">{d.acm_status_reason}</div> : null}
                </td>
                <td>{c.issuer}</td>
                <td>{c.expires}</td>
              </tr>
            );
          })}
        </DataTable>
      ) : null}
      {uploaded.length > 0 ? (
        <DataTable name="uploaded certificates" columns={['Name', 'Names it covers', 'Expires']} actions>
          {uploaded.map((c) => (
            <tr key={c.id} data-cert={c.name}>
              <th scope="row">{c.name}</th>
              <td>{c.ssl_cert.cert_domains.join(', ')}</td>
              <td>{localTime(c.ssl_cert.expires_at)}</td>
              <td>
                <button type="button" class="danger" onClick={() => setRemoving(c.name)} aria-label={`Remove certificate ${c.name}`}>
                  Remove
                </button>
              </td>
            </tr>
          ))}
        </DataTable>
      ) : null}
      <form
        aria-label="Add a certificate"
        onSubmit={(e) => {
          e.preventDefault();
          void add.run();
        }}
      >
        <label class="field">
          Certificate chain (PEM: the server certificate first, then its intermediates)
          <textarea name="certificate_chain" rows={4} value={chain} onInput={(e) => setChain(e.currentTarget.value)} spellcheck={false} required />
        </label>
        <label class="field">
          Private key (PEM; kept encrypted, never shown again)
          <textarea name="private_key" rows={4} value={key} onInput={(e) => setKey(e.currentTarget.value)} spellcheck={false} autoComplete="off" required />
        </label>
        <button type="submit" class="primary" disabled={add.busy}>
          {add.busy ? 'Adding…' : 'Add certificate'}
        </button>
      </form>
      <ErrorNote error={add.error} what="Could not add the certificate" />
      <p class="muted">Automatic certificates are issued by ACME for each custom domain and renewed 30 days before they expire.</p>
      <div>
        <Switch label="Automatic certificates" on={app.acm} onChange={(on) => acm.run(on)} />
      </div>
      <ErrorNote error={acm.error} what="Could not change automatic certificates" />
      <p class="muted">HTTPS only redirects plain HTTP requests to https; HSTS tells browsers to use https for a year.</p>
      <div>
        <Switch label="HTTPS only" on={enabled('https-only')} onChange={(on) => feature.run('https-only', on)} />
      </div>
      <div>
        <Switch label="HSTS" on={enabled('hsts')} onChange={(on) => feature.run('hsts', on)} />
      </div>
      <ErrorNote error={feature.error} what="Could not change the setting" />
      <Confirm
        open={removing !== undefined}
        title={`Remove certificate ${removing ?? ''}?`}
        confirmLabel="Remove certificate"
        danger
        busy={remove.busy}
        error={remove.error}
        onConfirm={() => void remove.run()}
        onCancel={() => (setRemoving(undefined), remove.clear())}
      >
        <p>Its domains get the platform certificate (or an automatic one) on the next connection.</p>
      </Confirm>
    </section>
  );
}
