/**
 * Pushing a release's image to an external registry (SLIPWAY_IMAGE_PUSH_URL): the OCI Distribution API's push, with
 * Basic auth. Each blob the registry lacks (HEAD first) is uploaded in one request (POST an upload, PUT it with its
 * digest), then the manifest is PUT under each tag. Errors name the step and the registry's status, never the
 * credentials.
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

export function createImagePusher(target: ImagePushTarget) {
  const auth: Record<string, string> = target.user !== undefined || target.password !== undefined
    ? { authorization: `Basic ${Buffer.from(`${target.user ?? ''}:${target.password ?? ''}`).toString('base64')}` } : {};
  const repoOf = (app: string) => (target.prefix ? `${target.prefix}/${app}` : app);

  async function call(method: string, url: string, what: string, init: { headers?: Record<string, string>; body?: ReadableStream | Buffer } = {}, ok = [200, 201, 202]): Promise<Response> {
    // The credentials go to the registry's own origin only (an upload's Location may point elsewhere, as to a bucket).
    const mine = new URL(url).origin === target.origin ? auth : {};
    const res = await fetch(url, { method, headers: { ...mine, ...init.headers }, body: init.body, redirect: 'error', ...(init.body instanceof ReadableStream ? { duplex: 'half' } : {}) } as RequestInit);
    if (!ok.includes(res.status)) {
      const text = (await res.text().catch(() => '')).slice(0, 300);
      throw new Error(`${what}: the registry answered ${res.status}${text ? ` (${text.replace(/\s+/g, ' ').trim()})` : ''}`);
    }
    return res;
  }

  async function sendBlob(repo: string, b: PushImage['blobs'][number]): Promise<boolean> {
    const base = `${target.origin}/v2/${repo}/blobs`;
    if ((await call('HEAD', `${base}/${b.digest}`, `checking ${b.digest}`, {}, [200, 404])).status === 200) return false;
    const upload = await call('POST', `${base}/uploads/`, 'starting an upload', {}, [202]);
    const location = upload.headers.get('location');
    if (!location) throw new Error('starting an upload: the registry gave no Location');
    const url = new URL(location, target.origin);
    url.searchParams.set('digest', b.digest);
    await call('PUT', url.toString(), `uploading ${b.digest}`, {
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(b.size) },
      body: Readable.toWeb(createReadStream(b.path)) as ReadableStream,
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
        await call('PUT', `${target.origin}/v2/${repo}/manifests/${tag}`, `tagging ${tag}`, { headers: { 'content-type': image.manifest.mediaType }, body: manifest }, [201]);
      }
      return { sent, repository: `${new URL(target.origin).host}/${repo}` };
    },
  };
}

export type ImagePusher = ReturnType<typeof createImagePusher>;
