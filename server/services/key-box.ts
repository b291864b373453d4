/**
 * Private keys of certificates at rest: AES-256-GCM under the platform's key-encryption key, which is never in
 * the database beside them. The key is SLIPWAY_CERT_KEY (64 hex characters; give every host the same one), else a
 * file made once in DATA/secrets/cert-key (mode 0600). A stored value is `v1:` and base64 of iv, tag and ciphertext;
 * one altered or sealed under another key does not open (an error that names no part of it).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdir, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface KeyBox {
  seal(plain: string): Promise<string>;
  open(sealed: string): Promise<string>;
}

const KEY_HEX = /^[0-9a-fA-F]{64}$/;

async function keyFile(dataDir: string): Promise<Buffer> {
  const dir = join(dataDir, 'secrets');
  const file = join(dir, 'cert-key');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const made = await open(file, 'wx', 0o600).catch(() => undefined);
  if (made) {
    try {
      await made.writeFile(randomBytes(32).toString('hex'));
    } finally {
      await made.close();
    }
  }
  // Another process may be writing it this moment: read until it holds a whole key.
  for (let i = 0; i < 50; i++) {
    const text = (await readFile(file, 'utf8')).trim();
    if (KEY_HEX.test(text)) return Buffer.from(text, 'hex');
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${file} does not hold a key (64 hex characters)`);
}

/** The platform's key box; the key is read (or made) on first use. */
export function createKeyBox(o: { dataDir: string; certKey?: string }): KeyBox {
  let loading: Promise<Buffer> | undefined;
  const key = () => (loading ??= (async () => {
    if (o.certKey !== undefined && !KEY_HEX.test(o.certKey)) throw new Error('SLIPWAY_CERT_KEY must be 64 hex characters (32 random bytes)');
    return o.certKey ? Buffer.from(o.certKey, 'hex') : keyFile(o.dataDir);
  })());
  return {
    async seal(plain) {
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', await key(), iv);
      const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
      return `v1:${Buffer.concat([iv, c.getAuthTag(), body]).toString('base64')}`;
    },
    async open(sealed) {
      const raw = sealed.startsWith('v1:') ? Buffer.from(sealed.slice(3), 'base64') : Buffer.alloc(0);
      if (raw.length < 29) throw new Error('a stored private key is not in the sealed format');
      const d = createDecipheriv('aes-256-gcm', await key(), raw.subarray(0, 12));
      d.setAuthTag(raw.subarray(12, 28));
      try {
        return Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString('utf8');
      } catch {
        throw new Error('a stored private key does not open with this platform\'s key (SLIPWAY_CERT_KEY or DATA/secrets/cert-key)');
      }
    },
  };
}
