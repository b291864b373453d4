/** The add-on part of the API, in one place for the api role and the tests' API: routes behind the token, and public ones. */
import type { Router } from 'express';
import type { Platform } from '../compose.js';
import type { UrlSigner } from '../services/url-signer.js';
import { addonRoutes } from './routes.js';
import { pgRoutes } from './pg-routes.js';
import { backupDownloadRoutes, pgBackupRoutes, pgScheduleRoutes } from './pg-backup-routes.js';

export function addonApi(p: Pick<Platform, 'services' | 'config' | 'redis'>, signer: UrlSigner): { routes: Router[]; publicRoutes: Router[] } {
  const deps = { ...p.services, config: p.config, signer, redis: p.redis };
  return {
    routes: [addonRoutes(p.services), pgRoutes(p.services), pgBackupRoutes(deps), pgScheduleRoutes(p.services)],
    publicRoutes: [backupDownloadRoutes(deps)],
  };
}
