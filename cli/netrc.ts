/** ~/.netrc, as Heroku's CLI keeps its token there (and git and curl read it too). Other entries are kept as they are. */
import { readFile, writeFile, chmod } from 'node:fs/promises';

export interface NetrcEntry {
  machine: string;
  login?: string;
  password?: string;
}

/** Splits the file into machine blocks, keeping the raw text of each so unknown entries survive a rewrite. */
function blocks(text: string): { machine?: string; raw: string; entry?: NetrcEntry }[] {
  const tokens = [...text.matchAll(/\S+/g)];
  const starts = tokens.map((t, i) => ({ t, i })).filter(({ t }) => t[0] === 'machine' || t[0] === 'default');
  if (starts.length === 0) return text.trim() ? [{ raw: text }] : [];
  const out: { machine?: string; raw: string; entry?: NetrcEntry }[] = [];
  const head = text.slice(0, starts[0].t.index);
  if (head.trim()) out.push({ raw: head });
  starts.forEach(({ t, i }, k) => {
    const end = k + 1 < starts.length ? starts[k + 1].t.index : text.length;
    const raw = text.slice(t.index, end);
    if (t[0] === 'default') return void out.push({ raw });
    const machine = tokens[i + 1]?.[0];
    const entry: NetrcEntry = { machine: machine ?? '' };
    const words = raw.split(/\s+/).filter(Boolean);
    for (let w = 2; w + 1 < words.length; w += 2) {
      if (words[w] === 'login') entry.login = words[w + 1];
      if (words[w] === 'password') entry.password = words[w + 1];
    }
    out.push({ machine, raw, entry });
  });
  return out;
}

export async function readNetrc(path: string, machine: string): Promise<NetrcEntry | undefined> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return blocks(text).find((b) => b.machine === machine)?.entry;
}

/** Sets (or with entry undefined, removes) one machine's entry; the file stays mode 0600. */
export async function writeNetrc(path: string, machine: string, entry: Omit<NetrcEntry, 'machine'> | undefined): Promise<void> {
  const text = await readFile(path, 'utf8').catch(() => '');
  const kept = blocks(text).filter((b) => b.machine !== machine).map((b) => b.raw.replace(/\s*$/, '\n'));
  if (entry) kept.push(`machine ${machine}\n  login ${entry.login ?? 'slipway'}\n  password ${entry.password ?? ''}\n`);
  await writeFile(path, kept.join(''), { mode: 0o600 });
  await chmod(path, 0o600);
}
