import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, onSessionExpired, type Session } from './api';
import { AppPage } from './pages/app';
import { AppsPage } from './pages/apps';
import { AccountPage } from './pages/account';
import { LoginPage } from './pages/login';
import { go, href, useRoute } from './route';
import './style.css';

function Shell() {
  const route = useRoute();
  const [session, setSession] = useState<Session | null>(api.session());
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const [returnTo, setReturnTo] = useState<string>(route.page === 'login' ? href.apps() : location.hash || href.apps());

  useEffect(
    () =>
      onSessionExpired((message) => {
        setReturnTo(location.hash || href.apps());
        setSession(null);
        setNotice(`Your session ended: ${message} Log in again.`);
      }),
    [],
  );
  useEffect(() => {
    if (!session && route.page !== 'login') go(href.login());
    if (session && route.page === 'login') go(returnTo);
  }, [session, route.page]);
  useEffect(() => {
    if (route.page !== 'app') document.title = 'Slipway';
  }, [route.page]);

  const logout = async () => {
    await api.logout();
    setReturnTo(href.apps());
    setNotice('You are logged out.');
    setSession(null);
  };

  if (!session || route.page === 'login') {
    return (
      <>
        <header class="top">
          <span class="brand">Slipway</span>
        </header>
        <LoginPage
          notice={notice}
          onLogin={(s) => {
            setNotice(undefined);
            setSession(s);
          }}
        />
      </>
    );
  }
  return (
    <>
      <a class="skip" href="#main-content" onClick={(e) => {
          e.preventDefault(); // the hash is the page's route
          const main = document.querySelector<HTMLElement>('main');
          main?.setAttribute('tabindex', '-1');
          main?.focus();
        }}>
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href={href.apps()}>
          Slipway
        </a>
        <span class="who">
          <a class="muted" href={href.account()} title="Your account and its API tokens">
            {session.email}
          </a>
          <button type="button" onClick={() => void logout()}>
            Log out
          </button>
        </span>
      </header>
      {route.page === 'apps' && <AppsPage />}
      {route.page === 'account' && <AccountPage onSignedOut={() => (setNotice('This session\'s token was revoked.'), setSession(null))} />}
      {route.page === 'app' && <AppPage key={route.app} name={route.app} tab={route.tab} build={route.build} />}
      {route.page === 'missing' && (
        <main>
          <h1>Not found</h1>
          <p>
            There is no page at <code>{route.path}</code>. <a href={href.apps()}>Go to the apps</a>.
          </p>
        </main>
      )}
    </>
  );
}

render(<Shell />, document.getElementById('root')!);
