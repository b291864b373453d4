/** Procfile: `type: command` per line. Types ^[a-z0-9]+(-[a-z0-9]+)*$; CRLF tolerated; comments and blanks skipped. */
export const PROCESS_TYPE = /^[a-z0-9]+(-[a-z0-9]+)*$/;
const MAX_BYTES = 64 * 1024;
const MAX_COMMAND = 4096;

export class ProcfileError extends Error {}

export function parseProcfile(text: string): Record<string, string> {
  if (Buffer.byteLength(text) > MAX_BYTES) throw new ProcfileError(`Procfile is larger than ${MAX_BYTES / 1024} KB.`);
  const out: Record<string, string> = {};
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const m = /^([^:]+?)\s*:\s*(.*)$/.exec(line);
    if (!m) throw new ProcfileError(`Procfile line ${i + 1} is not "type: command": ${line.slice(0, 80)}`);
    const [, type, command] = m;
    if (!PROCESS_TYPE.test(type) || type.length > 30) throw new ProcfileError(`Procfile line ${i + 1}: "${type.slice(0, 40)}" is not a valid process type (lowercase letters, digits and dashes).`);
    if (!command) throw new ProcfileError(`Procfile line ${i + 1}: process type "${type}" has no command.`);
    if (command.length > MAX_COMMAND) throw new ProcfileError(`Procfile line ${i + 1}: the command of "${type}" is longer than ${MAX_COMMAND} characters.`);
    if (type in out) throw new ProcfileError(`Procfile line ${i + 1}: process type "${type}" is declared twice.`);
    out[type] = command;
  });
  return out;
}

/**
 * The `default_process_types` of a buildpack's bin/release output (a small YAML subset:
 * `default_process_types:` followed by indented `type: command` lines).
 */
export function parseReleaseYaml(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let inTypes = false;
  for (const raw of text.split(/\r?\n/)) {
    if (!raw.trim() || raw.trim() === '---' || raw.trim().startsWith('#')) continue;
    if (/^\S/.test(raw)) {
      inTypes = /^default_process_types\s*:\s*(\{\s*\})?\s*$/.test(raw);
      continue;
    }
    if (!inTypes) continue;
    const m = /^\s+([a-z0-9-]+)\s*:\s*(.+)$/.exec(raw);
    if (m) out[m[1]] = m[2].replace(/^(["'])(.*)\1$/, '$2');
  }
  return out;
}
