/**
 * An app's buildpacks in Heroku's shape (buildpack installations, what `heroku buildpacks:set|add|remove|clear`
 * read and replace): an ordered list of URLs that, when not empty, builds use instead of BUILDPACK_URL and the
 * repository's .buildpacks. Built-ins are `heroku/NAME` (also `slipway/NAME`, and the buildpack registry's
 * `urn:buildpack:heroku/NAME`); git URLs and allowed absolute paths as for BUILDPACK_URL. Credentials in a git URL
 * are kept, and never shown.
 */
import type { Db } from '../db/pool.js';
import { invalidParams } from '../errors.js';
import { buildpackUrlProblem, builtinName, displayUrl } from '../../buildpacks/index.js';
import type { App } from '../apps/service.js';

export interface BuildpackInstallation {
  ordinal: number;
  buildpack: { url: string; name: string };
}

const MAX = 10;

export function installationsOf(app: App): BuildpackInstallation[] {
  return (app.buildpacks ?? []).map((url, ordinal) => {
    const builtin = builtinName(url);
    const shown = builtin ? `heroku/${builtin}` : displayUrl(url);
    return { ordinal, buildpack: { url: builtin ? `urn:buildpack:${shown}` : shown, name: shown } };
  });
}

export function createBuildpackInstallations(db: Db) {
  return {
    /** Replaces the app's buildpacks with `updates` ([{buildpack: URL}], in order); a bad one is a 422 naming it. */
    async set(app: App, body: unknown): Promise<string[]> {
      const updates = (body as { updates?: unknown } | undefined)?.updates;
      if (!Array.isArray(updates)) throw invalidParams('Body must be {"updates": [{"buildpack": "heroku/nodejs"}, …]}.');
      if (updates.length > MAX) throw invalidParams(`At most ${MAX} buildpacks run; ${updates.length} were given.`);
      const urls = updates.map((u: { buildpack?: unknown }, i: number) => {
        const url = typeof u?.buildpack === 'string' ? u.buildpack.trim() : '';
        // The Heroku CLI sends none for a name the buildpack registry does not have.
        const problem = url ? buildpackUrlProblem(url) : 'no buildpack given (the built-ins are heroku/nodejs, heroku/python, heroku/static, heroku/procfile; others by git URL)';
        if (problem) throw invalidParams(`Buildpack ${i + 1}: ${problem}.`);
        return url;
      });
      await db.query('UPDATE apps SET buildpacks = $2, updated_at = now() WHERE id = $1', [app.id, JSON.stringify(urls)]);
      return urls;
    },
  };
}

export type BuildpackInstallationService = ReturnType<typeof createBuildpackInstallations>;
