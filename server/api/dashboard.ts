import { existsSync } from 'node:fs';
import { join } from 'node:path';
import express, { Router } from 'express';

/**
 * The dashboard (web/, built by Vite into dist/dashboard): index.html at `/`, never cached, and the hashed files under
 * /assets, cached for a year. The page speaks only to the REST API, so its policy allows nothing but this origin.
 */
export function dashboardRoutes(dir: string): Router {
  const r = Router();
  const index = join(dir, 'index.html');
  const security = {
    'content-security-policy':
      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
      "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
  };
  r.get(['/', '/index.html'], (_req, res) => {
    if (!existsSync(index)) {
      res.status(503).type('text/plain').send('The dashboard is not built: run `npm run setup` (or `npm run build`).\n');
      return;
    }
    res.set({ ...security, 'cache-control': 'no-cache' });
    res.sendFile(index);
  });
  r.use(
    '/assets',
    express.static(join(dir, 'assets'), {
      index: false,
      immutable: true,
      maxAge: '365d',
      fallthrough: false,
      setHeaders: (res) => res.set({ 'x-content-type-options': 'nosniff' }),
    }),
  );
  return r;
}
