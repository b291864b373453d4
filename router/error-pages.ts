/** Heroku's router error codes, as a small HTML page or JSON, and the router log line for each. */
export interface RouterError {
  code: string;
  status: number;
  desc: string;
}

export const ERRORS = {
  noSuchApp: { code: 'no_such_app', status: 404, desc: 'No such app' },
  H10: { code: 'H10', status: 503, desc: 'App crashed' },
  H12: { code: 'H12', status: 503, desc: 'Request timeout' },
  H13: { code: 'H13', status: 503, desc: 'Connection closed without response' },
  H14: { code: 'H14', status: 503, desc: 'No web processes running' },
  H15: { code: 'H15', status: 503, desc: 'Idle connection' },
  H18: { code: 'H18', status: 503, desc: 'Server Request Interrupted' },
  H27: { code: 'H27', status: 499, desc: 'Client Request Interrupted' },
  H80: { code: 'H80', status: 503, desc: 'Maintenance mode' },
  H99: { code: 'H99', status: 503, desc: 'Platform error' },
  misdirected: { code: 'misdirected', status: 421, desc: 'Misdirected Request: this connection\'s certificate does not cover the host asked for' },
} as const satisfies Record<string, RouterError>;

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function errorBody(err: RouterError, wantsJson: boolean): { type: string; body: string } {
  if (wantsJson) return { type: 'application/json', body: JSON.stringify({ id: err.code, message: err.desc }) };
  const title = err.code === 'no_such_app' ? 'No such app' : 'Application error';
  const body = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escape(title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:0;display:grid;place-items:center;min-height:100vh;background:#f6f7f9;color:#1f2933}
main{max-width:32rem;padding:2rem;text-align:center}code{background:#e4e7eb;padding:.1rem .3rem;border-radius:3px}</style></head>
<body><main><h1>${escape(title)}</h1><p>${escape(err.desc)}</p><p><code>${escape(err.code)}</code></p></main></body></html>
`;
  return { type: 'text/html; charset=utf-8', body };
}
