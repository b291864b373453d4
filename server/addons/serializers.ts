/** Add-ons and attachments in Heroku's Platform API shapes (what the Heroku CLI's addons and pg commands read). */
import { HEROKU_SERVICE_NAME, type AddonServiceName } from './plans.js';
import type { Addon, Attachment } from './store.js';
import { configVarOf } from './service.js';

const FREE = { cents: 0, contract: false, unit: 'month' };
const SERVICE_IDS: Record<AddonServiceName, string> = {
  postgresql: '6c67493d-8fc2-4cd4-9161-4f1ec11cbe69', redis: '5b2c8c5a-0b8a-4e7a-9c1a-5a2e1c4b7d10',
};

/** heroku-postgresql:essential-0: the Heroku CLI tells a database from other add-ons by this name. */
export const planName = (a: { service: AddonServiceName; plan: string }) => `${HEROKU_SERVICE_NAME[a.service]}:${a.plan}`;

const planOf = (a: { service: AddonServiceName; plan: string }) => ({ id: `${a.service}:${a.plan}`, name: planName(a), price: FREE });

export function serializeAddon(a: Addon, attachments: Attachment[]) {
  const own = attachments.filter((t) => t.app_id === a.app_id);
  return {
    id: a.id,
    name: a.name,
    actions: [],
    addon_service: { id: SERVICE_IDS[a.service], name: HEROKU_SERVICE_NAME[a.service], human_name: a.service === 'postgresql' ? 'PostgreSQL' : 'Redis' },
    app: { id: a.app_id, name: a.app_name },
    billing_entity: { id: a.app_id, name: a.app_name, type: 'app' },
    billed_price: FREE,
    config_vars: (own.length ? own : attachments).map((t) => configVarOf(t.name)),
    plan: planOf(a),
    provider_id: a.resource,
    provision_message: null,
    state: a.state,
    created_at: a.created_at,
    updated_at: a.updated_at,
    web_url: null,
    attachments: attachments.map((t) => ({ id: t.id, name: t.name, app: { id: t.app_id, name: t.app_name } })),
  };
}

export function serializeAttachment(t: Attachment) {
  return {
    id: t.id,
    name: t.name,
    addon: { id: t.addon_id, name: t.addon_name, app: { id: t.addon_app_id, name: t.addon_app_name }, plan: planOf(t) },
    app: { id: t.app_id, name: t.app_name },
    config_vars: [configVarOf(t.name)],
    namespace: null,
    log_input_url: null,
    web_url: null,
    created_at: t.created_at,
    updated_at: t.updated_at,
  };
}

/** An add-on as destroyed (Heroku answers the DELETE with the add-on, deprovisioned). */
export function serializeDestroyed(a: Addon, attachments: Attachment[]) {
  return { ...serializeAddon(a, attachments), state: 'deprovisioned' };
}
