import { useState } from 'preact/hooks';
import { api, type Session } from '../api';
import { useAction } from '../hooks';
import { ErrorNote } from '../ui';

/** Log in with email and password (the API makes a token for this tab), or paste an API token. */
export function LoginPage({ onLogin, notice }: { onLogin(s: Session): void; notice?: string }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [token, setToken] = useState('');
  const byPassword = useAction(async () => onLogin(await api.login(email.trim(), password)));
  const byToken = useAction(async () => onLogin(await api.useToken(token.trim())));
  return (
    <main class="login">
      <h1>Log in to Slipway</h1>
      {notice ? (
        <p class="notice" role="status">
          {notice}
        </p>
      ) : null}
      <div class="login-forms">
        <form
          class="card"
          aria-labelledby="login-password"
          onSubmit={(e) => {
            e.preventDefault();
            void byPassword.run();
          }}
        >
          <h2 id="login-password">Email and password</h2>
          <label class="field">
            Email
            <input type="email" name="email" autoComplete="username" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
          </label>
          <label class="field">
            Password
            <input type="password" name="password" autoComplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
          </label>
          <ErrorNote error={byPassword.error} what="Could not log in" />
          <button type="submit" class="primary" disabled={byPassword.busy}>
            {byPassword.busy ? 'Logging in…' : 'Log in'}
          </button>
        </form>
        <form
          class="card"
          aria-labelledby="login-token"
          onSubmit={(e) => {
            e.preventDefault();
            void byToken.run();
          }}
        >
          <h2 id="login-token">API token</h2>
          <p class="muted">
            From <code>slipway auth:token</code>, or the admin token <code>slipway up</code> printed.
          </p>
          <label class="field">
            API token
            <input type="password" name="token" autoComplete="off" spellcheck={false} required value={token} onInput={(e) => setToken(e.currentTarget.value)} />
          </label>
          <ErrorNote error={byToken.error} what="Token refused" />
          <button type="submit" class="primary" disabled={byToken.busy}>
            {byToken.busy ? 'Checking…' : 'Use token'}
          </button>
        </form>
      </div>
    </main>
  );
}
