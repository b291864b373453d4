/** Waiting for a release the command made (a config change, a rollback, an add-on's URL) to be deployed. */
import { CliError } from './api-client.js';
import { appPath, type Ctx } from './context.js';

export interface Release { version: number; status: 'pending' | 'succeeded' | 'failed'; failure?: string | null }

/** The app's newest release. */
export async function latestRelease(ctx: Ctx, app: string): Promise<Release | undefined> {
  return (await (await ctx.api()).get<Release[]>(`${appPath(app)}/releases`, { range: 'version ..; order=desc, max=1' }))[0];
}

/**
 * Waits for a release to be deployed (its dynos up and verified), then says so after `what... `; a failed one is
 * an error naming why (the running release kept serving).
 */
export async function releaseSettled(ctx: Ctx, app: string, version: number | undefined, what: string): Promise<void> {
  const api = await ctx.api();
  let rel = version === undefined ? undefined : await api.get<Release>(`${appPath(app)}/releases/${version}`);
  const until = Date.now() + 600_000;
  while (rel?.status === 'pending' && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 500));
    rel = await api.get<Release>(`${appPath(app)}/releases/${version}`);
  }
  if (rel?.status === 'failed') throw new CliError(`${what}... failed, v${rel.version}: ${rel.failure ?? 'the release failed'}. The running release keeps serving.`);
  ctx.print(`${what}... done, v${rel?.version ?? version}${rel?.status === 'pending' ? ' (still deploying)' : ''}`);
}
