/**
 * Pushing a release's image to an external registry (SLIPWAY_IMAGE_PUSH_URL): the OCI Distribution API's push. Each
 * blob the registry lacks (HEAD first) is uploaded in one request (POST an upload, PUT it with its digest), then
 * the manifest is PUT under each tag. Auth: Basic with the credentials; or, when the registry answers 401 with a
 * `Bearer` challenge (Docker Hub, GHCR, a registry with token auth), the credentials are exchanged at the challenge's
 * realm for a token of the repository's scope (pull,push), kept per repository and asked again when refused. Errors
 * name the step and the registry's status, never the credentials or a token.
 */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { ImagePushTarget } from '../config-parse.js';

export interface PushImage {
  app: string;
  tags: string[];
  manifest: { path: string; digest: string; mediaType: string };
  /** The config's and layers' blobs. */
  blobs: { path: string; digest: string; size: number }[];
}

/** A `WWW-Authenticate: Bearer realm="…",service="…",scope="…"` challenge's parameters; undefined for any other. */
export function bearerChallenge(header: string | null): Record<string, string> | undefined {
  if (!header || !/^Bearer\s/i.test(header)) return undefined;
  const params: Record<string, string> = {};
  for (const m of header.slice(7).matchAll(/([a-z_]+)="([^"]*)"/gi)) params[m[1].toLowerCase()] = m[2];
  return params.realm ? params : undefined;
}

export function createImagePusher(target: ImagePushTarget) {
  const basic = target.user !== undefined || target.password !== undefined
    ? `Basic ${Buffer.from(`${target.user ?? ''}:${target.password ?? ''}`).toString('base64')}` : undefined;
  const repoOf = (app: string) => (target.prefix ? `${target.prefix}/${app}` : app);
  const tokens = new Map<string, string>();

  /**
   * A token for repo's pull and push from the challenge's realm. The credentials go there only over https, or to
   * the registry's own host (a registry on loopback or a private network with its token service beside it).
   */
  async function fetchToken(repo: string, challenge: Record<string, string>): Promise<string> {
    const realm = new URL(challenge.realm);
    if (realm.protocol !== 'https:' && realm.hostname !== new URL(target.origin).hostname) {
      throw new Error(`the registry's token service (${realm.origin}) is neither https nor on the registry's host: no credentials sent there`);
    }
    if (challenge.service) realm.searchParams.set('service', challenge.service);
    realm.searchParams.set('scope', `repository:${repo}:pull,push`);
    const res = await fetch(realm, { headers: basic ? { authorization: basic } : {}, redirect: 'error' });
    if (!res.ok) throw new Error(`getting a token for ${repo}: the token service answered ${res.status}`);
    const body = (await res.json().catch(() => ({}))) as { token?: unknown; access_token?: unknown };
    const token = typeof body.token === 'string' ? body.token : typeof body.access_token === 'string' ? body.access_token : undefined;
    if (!token) throw new Error(`getting a token for ${repo}: the token service gave none`);
    tokens.set(repo, token);
    return token;
  }

  async function call(repo: string, method: string, url: string, what: string, init: { headers?: Record<string, string>; body?: () => ReadableStream | Buffer } = {}, ok = [200, 201, 202]): Promise<Response> {
    const send = () => {
      // The credentials go to the registry's own origin only (an upload's Location may point elsewhere, as to a bucket).
      const token = tokens.get(repo);
      const auth = new URL(url).origin !== target.origin ? undefined : token ? `Bearer ${token}` : basic;
      const body = init.body?.();
      return fetch(url, { method, headers: { ...(auth ? { authorization: auth } : {}), ...init.headers }, body, redirect: 'error', ...(body instanceof ReadableStream ? { duplex: 'half' } : {}) } as RequestInit);
    };
    let res = await send();
    const challenge = res.status === 401 ? bearerChallenge(res.headers.get('www-authenticate')) : undefined;
    if (challenge) {
      await res.body?.cancel();
      await fetchToken(repo, challenge);
      res = await send();
    }
    if (!ok.includes(res.status)) {
      const text = (await res.text().catch(() => '')).slice(0, 300);
      throw new Error(`${what}: the registry answered ${res.status}${text ? ` (${text.replace(/\s+/g, ' ').trim()})` : ''}`);
    }
    return res;
  }

  async function sendBlob(repo: string, b: PushImage['blobs'][number]): Promise<boolean> {
    const base = `${target.origin}/v2/${repo}/blobs`;
    if ((await call(repo, 'HEAD', `${base}/${b.digest}`, `checking ${b.digest}`, {}, [200, 404])).status === 200) return false;
    const upload = await call(repo, 'POST', `${base}/uploads/`, 'starting an upload', {}, [202]);
    const location = upload.headers.get('location');
    if (!location) throw new Error('starting an upload: the registry gave no Location');
    const url = new URL(location, target.origin);
    url.searchParams.set('digest', b.digest);
    await call(repo, 'PUT', url.toString(), `uploading ${b.digest}`, {
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(b.size) },
      body: () => Readable.toWeb(createReadStream(b.path)) as ReadableStream,
    }, [201]);
    return true;
  }

  return {
    /** Pushes the image under each tag; how many blobs had to be sent. */
    async push(image: PushImage): Promise<{ sent: number; repository: string }> {
      const repo = repoOf(image.app);
      let sent = 0;
      for (const b of image.blobs) if (await sendBlob(repo, b)) sent++;
      const manifest = await readFile(image.manifest.path);
      for (const tag of image.tags) {
        await call(repo, 'PUT', `${target.origin}/v2/${repo}/manifests/${tag}`, `tagging ${tag}`, { headers: { 'content-type': image.manifest.mediaType }, body: () => manifest }, [201]);
      }
      return { sent, repository: `${new URL(target.origin).host}/${repo}` };
    },
  };
}

export type ImagePusher = ReturnType<typeof createImagePusher>;
