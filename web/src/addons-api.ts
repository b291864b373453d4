/** The dashboard's calls for add-ons and their backups (the same API the CLIs use). */
import { request } from './api';

const enc = encodeURIComponent;

export interface Addon {
  id: string;
  name: string;
  state: string;
  addon_service: { name: string; human_name: string };
  plan: { name: string };
  app: { name: string };
  config_vars: string[];
  attachments: { id: string; name: string; app: { name: string } }[];
  created_at: string;
}

export interface Transfer {
  uuid: string;
  num: number;
  name: string;
  from_name: string;
  to_type: string;
  to_url: string | null;
  status: 'running' | 'succeeded' | 'failed';
  source_bytes: number | null;
  error: string | null;
  created_at: string;
  addon: { name: string };
}

/** What the Create menu offers: ours and Heroku's plan names are the same after the service. */
export const PLANS = [
  'postgresql:essential-0', 'postgresql:essential-1', 'postgresql:essential-2', 'postgresql:standard-0',
  'redis:mini', 'redis:premium-0', 'redis:premium-1', 'redis:premium-2',
];

export const addonsApi = {
  list: (app: string) => request<Addon[]>('GET', `/apps/${enc(app)}/addons`),
  create: (app: string, plan: string) => request<Addon>('POST', `/apps/${enc(app)}/addons`, { body: { plan: { name: plan } } }),
  destroy: (app: string, addon: string) => request<Addon>('DELETE', `/apps/${enc(app)}/addons/${enc(addon)}`),
  transfers: (app: string) => request<Transfer[]>('GET', `/client/v11/apps/${enc(app)}/transfers`),
  capture: (addonId: string) => request<Transfer>('POST', `/client/v11/databases/${enc(addonId)}/backups`, { body: {} }),
  restore: (addonId: string, backupUrl: string) => request<Transfer>('POST', `/client/v11/databases/${enc(addonId)}/restores`, { body: { backup_url: backupUrl } }),
};
