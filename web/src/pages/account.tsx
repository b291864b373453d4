import { useState } from 'preact/hooks';
import { api, type Authorization } from '../api';
import { ago, localTime } from '../format';
import { useAction, usePoll } from '../hooks';
import { Confirm, DataTable, ListStates } from '../ui';

function expiry(a: Authorization): string {
  const s = a.access_token.expires_in;
  if (s === null) return 'never';
  if (s < 3600) return `in ${Math.max(1, Math.round(s / 60))} min`;
  if (s < 2 * 86_400) return `in ${Math.round(s / 3600)} h`;
  return `in ${Math.round(s / 86_400)} days`;
}

/** The account's API tokens: where each came from, when it was last used, when it expires; revoke any of them. */
export function AccountPage({ onSignedOut }: { onSignedOut: () => void }) {
  const tokens = usePoll(() => api.authorizations(), 10_000, []);
  const [revoking, setRevoking] = useState<Authorization | undefined>(undefined);
  const session = api.session();
  const isCurrent = (a: Authorization) => a.access_token.token !== null && a.access_token.token === session?.token;
  const revoke = useAction(async () => {
    if (!revoking) return;
    const current = isCurrent(revoking);
    await api.revokeAuthorization(revoking.id);
    setRevoking(undefined);
    if (current) {
      await api.logout();
      return onSignedOut();
    }
    await tokens.refresh();
  });
  const list = tokens.data ?? [];
  return (
    <main id="main-content">
      <h1>Your account</h1>
      <p class="muted">{session?.email}</p>
      <h2>API tokens</h2>
      <p class="muted">Every token that can act as you: made by logging in (here or with the CLI) or by the API. Revoke any you do not recognise.</p>
      <ListStates
        error={{ error: tokens.error, what: 'Could not load your tokens' }}
        loading={tokens.loading && !tokens.data ? 'tokens' : undefined}
        empty={tokens.data && list.length === 0 ? 'No tokens.' : undefined}
      />
      {list.length > 0 ? (
        <DataTable name="tokens" columns={['Description', 'Created', 'Last used', 'Expires']} actions>
          {list.map((a) => (
            <tr key={a.id} data-token={a.id}>
              <th scope="row">
                {a.description || '(no description)'} {isCurrent(a) ? <span class="badge">this session</span> : null}
              </th>
              <td title={localTime(a.created_at)}>{ago(a.created_at)}</td>
              <td>{a.last_used_at ? ago(a.last_used_at) : 'never'}</td>
              <td>{expiry(a)}</td>
              <td>
                <button type="button" class="danger" onClick={() => setRevoking(a)} aria-label={`Revoke ${a.description || a.id}`}>
                  Revoke
                </button>
              </td>
            </tr>
          ))}
        </DataTable>
      ) : null}
      <Confirm
        open={revoking !== undefined}
        title={`Revoke ${revoking?.description || 'this token'}?`}
        confirmLabel="Revoke token"
        danger
        busy={revoke.busy}
        error={revoke.error}
        onConfirm={() => void revoke.run()}
        onCancel={() => (setRevoking(undefined), revoke.clear())}
      >
        <p>{revoking && isCurrent(revoking) ? 'This is the token this page uses: you will be logged out.' : 'Whatever uses this token stops working at once.'}</p>
      </Confirm>
    </main>
  );
}
