/**
 * The HTTP/2 sessions of the router's TLS port, held to time: a client that never sends its SETTINGS is dropped, an
 * idle session is sent GOAWAY and closed once its streams end, and one whose streams outlive the GOAWAY (or whose
 * client never answers it) is cut off after a grace. The open sessions are known, to be closed with the router.
 */
import type { Http2Server, ServerHttp2Session } from 'node:http2';

/** After an idle session's GOAWAY, how long its streams may take to end before the connection is cut. */
const CLOSE_GRACE_MS = 5000;

export function holdH2Sessions(h2: Http2Server, o: { settingsTimeoutMs?: number; idleTimeoutMs?: number }) {
  const sessions = new Set<ServerHttp2Session>();
  h2.on('session', (session: ServerHttp2Session) => {
    sessions.add(session);
    const settings = setTimeout(() => session.destroy(), o.settingsTimeoutMs ?? 10_000);
    session.once('remoteSettings', () => clearTimeout(settings));
    session.setTimeout(o.idleTimeoutMs ?? 120_000, () => {
      session.close();
      setTimeout(() => session.destroy(), CLOSE_GRACE_MS).unref();
    });
    session.once('close', () => {
      clearTimeout(settings);
      sessions.delete(session);
    });
  });
  return {
    count: () => sessions.size,
    destroyAll: () => {
      for (const session of sessions) session.destroy();
    },
  };
}
