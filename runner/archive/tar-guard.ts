/**
 * A tar stream checked entry by entry on its way to `tar -x`, so that what a tenant packed (an uploaded source, a
 * git tree, the build dir that becomes a slug) cannot make the host create anything but files, directories and
 * links inside the target dir. A header reaches tar only after it passed; the first refused entry ends the stream
 * with a TarRefused naming it. Refused: device nodes, FIFOs and other types; absolute paths and `..`; an entry
 * inside a symbolic link of the archive (tar would write through it); a symbolic link given twice or over a dir;
 * a hard link to anything but a regular file already in the archive; pax headers that make entries sparse or
 * rename every entry; more bytes or entries than allowed. For sources, also a symbolic link that leaves the tree
 * (slugs may hold absolute links: they resolve inside the dyno, never on the host).
 */
import { shown } from '../../platform/shown.js';
import { Transform, type TransformCallback } from 'node:stream';

/** An archive refused by the guard; its message names the entry and is meant for the tenant who packed it. */
export { shown };

export class TarRefused extends Error {}

export interface TarGuardOptions {
  /** source: links must stay in the tree; slug: links may point anywhere (they are resolved in the container). */
  policy: 'source' | 'slug';
  /** What the archive is, for messages: "The uploaded source", "The slug". */
  label: string;
  /** The most bytes its regular files may hold together. */
  maxBytes: number;
  maxEntries?: number;
  /** Leading path components tar will strip (--strip-components): checks apply to what is left. */
  strip?: number;
  /** The tree is packed under this directory (a layer's `./app/…`): checks and messages see the tree's own paths. */
  under?: string;
}

const BLOCK = 512;
const MAX_META = 1 << 20;
const ZERO = Buffer.alloc(BLOCK * 2);
const KIND: Record<string, string> = { '3': 'a character device', '4': 'a block device', '6': 'a FIFO (named pipe)', S: 'a sparse file', V: 'a volume label', M: 'a multi-volume part', D: 'a dump directory' };


function cstr(b: Buffer, at: number, len: number): string {
  const end = b.indexOf(0, at);
  return b.toString('utf8', at, end < 0 || end > at + len ? at + len : end);
}

function numeric(b: Buffer, at: number, len: number): number {
  if (b[at] & 0x80) {
    if (b[at] === 0xff) return -1;
    let n = b[at] & 0x7f;
    for (let i = at + 1; i < at + len; i++) n = n * 256 + b[i];
    return n;
  }
  const text = b.toString('latin1', at, at + len).replace(/[\0 ]+$/, '').trim();
  return text === '' ? 0 : /^[0-7]+$/.test(text) ? parseInt(text, 8) : -1;
}

function checksumOk(h: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i];
  return numeric(h, 148, 8) === sum;
}

/** pax records, `LEN key=value\n`. */
function paxRecords(data: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    const len = Number(data.toString('latin1', at, space));
    if (space < 0 || !Number.isInteger(len) || len <= 0 || at + len > data.length) break;
    const record = data.toString('utf8', space + 1, at + len - 1);
    const eq = record.indexOf('=');
    if (eq > 0) out.set(record.slice(0, eq), record.slice(eq + 1));
    at += len;
  }
  return out;
}

export class TarGuard extends Transform {
  private pending: Buffer[] = [];
  private pendingLength = 0;
  private need = BLOCK;
  /** Bytes of the current entry's data still to pass through unread. */
  private skip = 0;
  /** The header of a pax or GNU long-name entry, held until its data is read and checked. */
  private metaHeader: Buffer | undefined;
  private metaType = '';
  private paxPath: string | undefined;
  private paxLink: string | undefined;
  private paxSize: number | undefined;
  private ended = false;
  private bytes = 0;
  private entries = 0;
  private readonly files = new Set<string>();
  private readonly links = new Set<string>();
  /** Every directory a checked entry lies in (a symbolic link may not replace one). */
  private readonly parents = new Set<string>();
  /** First path components, and whether anything lies below them (a lone top dir is stripped from uploads). */
  readonly tops = new Set<string>();
  nested = false;
  /** Whether any uid may read every file and directory seen (a shared runtime layer must be). */
  othersCanRead = true;

  constructor(private readonly o: TarGuardOptions) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      let at = 0;
      while (at < chunk.length && !this.ended) {
        if (this.skip > 0) {
          const n = Math.min(this.skip, chunk.length - at);
          this.push(chunk.subarray(at, at + n));
          this.skip -= n;
          at += n;
          continue;
        }
        const n = Math.min(this.need - this.pendingLength, chunk.length - at);
        this.pending.push(chunk.subarray(at, at + n));
        this.pendingLength += n;
        at += n;
        if (this.pendingLength === this.need) {
          const block = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending);
          this.pending = [];
          this.pendingLength = 0;
          this.need = BLOCK;
          if (this.metaHeader) this.meta(block);
          else this.header(block);
        }
      }
      done();
    } catch (e) {
      done(e as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    if (!this.ended && (this.skip > 0 || this.pendingLength > 0 || this.metaHeader)) return done(new TarRefused(`${this.o.label} is not a complete tar archive (it ends inside an entry).`));
    if (!this.ended) this.push(ZERO);
    done();
  }

  private refuse(why: string): never {
    throw new TarRefused(`${this.o.label} ${why}`);
  }

  private header(h: Buffer): void {
    if (h.every((b) => b === 0)) {
      // The end of the archive: two zero blocks, and nothing after them reaches tar.
      this.ended = true;
      this.push(ZERO);
      return;
    }
    if (!checksumOk(h)) this.refuse('is not a tar archive (a header does not check out).');
    const type = h[156] === 0 ? '0' : String.fromCharCode(h[156]);
    let size = numeric(h, 124, 12);
    if (size < 0) this.refuse('has an entry with an unreadable size.');
    if (type === 'x' || type === 'g' || type === 'L' || type === 'K') {
      if (size > MAX_META) this.refuse('has an oversized extended header.');
      this.metaHeader = h;
      this.metaType = type;
      this.need = Math.ceil(size / BLOCK) * BLOCK;
      if (this.need === 0) this.meta(Buffer.alloc(0));
      return;
    }
    const magic = h.toString('latin1', 257, 263);
    const prefix = magic === 'ustar\0' ? cstr(h, 345, 155) : '';
    const name = this.paxPath ?? (prefix ? `${prefix}/${cstr(h, 0, 100)}` : cstr(h, 0, 100));
    const link = this.paxLink ?? cstr(h, 157, 100);
    if (this.paxSize !== undefined) size = this.paxSize;
    this.paxPath = this.paxLink = this.paxSize = undefined;
    this.entry(type, name, link, size);
    const mode = numeric(h, 100, 8);
    if ((type === '0' || type === '7' || type === '5') && ((mode & 0o004) === 0 || (type === '5' && (mode & 0o001) === 0))) this.othersCanRead = false;
    this.push(h);
    this.skip = Math.ceil(size / BLOCK) * BLOCK;
  }

  /** The data of a pax or GNU long-name entry: checked, then passed on with its header. */
  private meta(data: Buffer): void {
    const header = this.metaHeader!;
    const size = numeric(header, 124, 12);
    const body = data.subarray(0, size);
    if (this.metaType === 'L') this.paxPath = cstr(body, 0, body.length);
    else if (this.metaType === 'K') this.paxLink = cstr(body, 0, body.length);
    else {
      const records = paxRecords(body);
      for (const key of records.keys()) {
        if (key.startsWith('GNU.sparse')) this.refuse('has a sparse entry (pax GNU.sparse).');
        if (this.metaType === 'g' && (key === 'path' || key === 'linkpath' || key === 'size')) this.refuse(`has a global header that sets ${key} for every entry.`);
      }
      if (this.metaType === 'x') {
        if (records.has('path')) this.paxPath = records.get('path');
        if (records.has('linkpath')) this.paxLink = records.get('linkpath');
        if (records.has('size')) {
          const n = Number(records.get('size'));
          if (!Number.isSafeInteger(n) || n < 0) this.refuse('has an entry with an unreadable size.');
          this.paxSize = n;
        }
      }
    }
    this.metaHeader = undefined;
    this.push(header);
    if (data.length) this.push(data);
  }

  /** The path's components below the root, less what tar strips; undefined for the root itself. */
  private parts(path: string): string[] {
    if (path.includes('\0')) this.refuse(`has a path with a NUL byte (${shown(path)}).`);
    if (path.startsWith('/')) this.refuse(`has an absolute path (${shown(path)}).`);
    const parts = path.split('/').filter((p) => p !== '' && p !== '.');
    if (parts.includes('..')) this.refuse(`has a path that climbs out of the tree (${shown(path)}).`);
    return parts.slice(this.o.strip ?? 0);
  }

  /** `./UNDER/x` as `./x` (and `./UNDER` as `./`). */
  private unprefix(path: string): string {
    const m = /^(?:\.\/)?([^/]+)(\/.*)?$/.exec(path);
    return m && m[1] === this.o.under ? `.${m[2] ?? '/'}` : path;
  }

  private entry(type: string, name: string, link: string, size: number): void {
    if (this.o.under) {
      name = this.unprefix(name);
      if (type === '1') link = this.unprefix(link); // a hard link's target moved with it; a symbolic link's did not
    }
    if (++this.entries > (this.o.maxEntries ?? 500_000)) this.refuse(`has more than ${this.o.maxEntries ?? 500_000} entries.`);
    const raw = name.split('/').filter((p) => p !== '' && p !== '.');
    if (raw.length) this.tops.add(raw[0]);
    if (raw.length > 1) this.nested = true;
    const kind = KIND[type];
    if (kind) this.refuse(`holds ${kind} at ${shown(name)}: only files, directories and links are allowed.`);
    if (!['0', '7', '5', '2', '1'].includes(type)) this.refuse(`holds an entry of an unknown type (${shown(type)}) at ${shown(name)}.`);
    const parts = this.parts(name);
    if (parts.length === 0) {
      if (type !== '5' && (this.o.strip ?? 0) === 0) this.refuse(`has a ${type === '2' ? 'link' : 'file'} in place of its root directory.`);
      return;
    }
    const path = parts.join('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (this.links.has(dir)) this.refuse(`has ${shown(name)} inside a symbolic link (${shown(dir)}).`);
      this.parents.add(dir);
    }
    if (this.links.has(path)) this.refuse(`gives ${shown(name)} twice, once as a symbolic link.`);
    if (type === '2') return this.symlink(name, path, parts, link);
    if (type === '1') {
      const target = this.parts(link).join('/');
      if (!this.files.has(target)) this.refuse(`has a hard link ${shown(name)} to something other than a file before it in the archive.`);
      return;
    }
    if (type === '5') return;
    this.bytes += size;
    if (this.bytes > this.o.maxBytes) this.refuse(`unpacks to more than ${Math.round(this.o.maxBytes / 1024 / 1024)} MB.`);
    this.files.add(path);
  }

  private symlink(name: string, path: string, parts: string[], target: string): void {
    if (this.parents.has(path)) this.refuse(`has a symbolic link ${shown(name)} in place of a directory.`);
    if (this.o.policy === 'source') {
      if (target.startsWith('/')) this.refuse(`has a symbolic link ${shown(name)} to an absolute path: links must stay inside the tree.`);
      const at = parts.slice(0, -1);
      for (const p of target.split('/')) {
        if (p === '' || p === '.') continue;
        if (p === '..') {
          if (at.length === 0) this.refuse(`has a symbolic link ${shown(name)} that leaves the tree.`);
          at.pop();
        } else {
          at.push(p);
          if (this.links.has(at.join('/'))) this.refuse(`has a symbolic link ${shown(name)} that goes through another link.`);
        }
      }
    }
    this.links.add(path);
  }
}
