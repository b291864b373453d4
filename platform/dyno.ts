/**
 * A dyno as the control plane defines it: which app and release, its process type and name, its command and config,
 * its size, and what the sandbox gives it (the app's uid, its egress policy, the add-on servers it may reach). The
 * runner's DynoSpec (one to start, with its instance id) and the agent's DesiredDyno (one to keep running, with its
 * generation) are this and what each adds.
 */
import type { AddonEndpoint } from './addon-endpoint.js';
import type { EgressPolicy } from './egress.js';
import type { DynoSize } from './sizes.js';

export interface DynoDefinition {
  appId: string;
  app: string;
  /** web, worker, run, release */
  type: string;
  /** web.1, worker.2, run.3 */
  name: string;
  release: { id: string; version: number; slugDigest: string };
  command: string;
  config: Record<string, string>;
  size: DynoSize;
  /** The app's uid on the host (runner/sandbox/identity.ts); absent: the stack's dyno user. */
  uid?: number;
  /** What the dyno may reach outside the platform (egress.ts); absent: allow. */
  egress?: EgressPolicy;
  /** The add-on servers its app is attached to: the host lets it reach these, and nothing else of the host. */
  addons?: AddonEndpoint[];
}
