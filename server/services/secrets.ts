import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { AppError } from '../errors.js';

const scryptRaw = promisify(scryptCb) as (pw: string, salt: Buffer, len: number, opts: { N: number; r: number; p: number; maxmem: number }) => Promise<Buffer>;
const N = 16384, R = 8, P = 1, LEN = 32;

/**
 * scrypt runs on libuv's threadpool (four threads), which file reads, DNS and zlib share: at most two hashes run at
 * once per process, a few dozen wait, and more are refused (503) instead of queueing without bound, so a flood of
 * logins cannot stall everything else the process does.
 */
const RUNNING = 2;
const WAITING = 32;
let running = 0;
const waiting: (() => void)[] = [];

async function scrypt(pw: string, salt: Buffer, len: number, opts: { N: number; r: number; p: number; maxmem: number }): Promise<Buffer> {
  if (running >= RUNNING) {
    if (waiting.length >= WAITING) throw new AppError('unavailable', 'Too many logins at once; try again in a moment.', 503, { 'Retry-After': '1' });
    await new Promise<void>((resolve) => waiting.push(resolve)); // the slot is handed over by the one finishing
  } else {
    running++;
  }
  try {
    return await scryptRaw(pw, salt, len, opts);
  } finally {
    const next = waiting.shift();
    if (next) next();
    else running--;
  }
}

/** scrypt$N$r$p$salt$hash, base64url parts. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scrypt(password, salt, LEN, { N, r: R, p: P, maxmem: 64 * 1024 * 1024 });
  return ['scrypt', N, R, P, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

/** A hash of nothing anyone knows: checked against when there is no account, so every answer costs the same. */
let dummy: Promise<string> | undefined;
const dummyHash = () => (dummy ??= hashPassword(randomBytes(24).toString('base64url')));

/** Whether password matches stored; with no stored hash (no account, or token login only) it still does the work. */
export async function verifyPassword(password: string, stored: string | null | undefined): Promise<boolean> {
  const usable = stored && /^scrypt\$\d+\$\d+\$\d+\$[\w-]+\$[\w-]+$/.test(stored);
  const [kind, n, r, p, salt, hash] = (usable ? stored : await dummyHash()).split('$');
  const expected = Buffer.from(hash, 'base64url');
  const actual = await scrypt(password, Buffer.from(salt, 'base64url'), expected.length, {
    N: Number(n), r: Number(r), p: Number(p), maxmem: 64 * 1024 * 1024,
  });
  return Boolean(usable) && kind === 'scrypt' && timingSafeEqual(expected, actual);
}

/** A new API token: shown to its owner once; only its hash is kept. */
export const newToken = (): string => 'slw_' + randomBytes(30).toString('base64url');

/** Tokens carry 240 random bits, so one round of sha256 is a safe, fast lookup key. */
export const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');
