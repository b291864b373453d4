/**
 * Both Runner implementations for the conformance suite and the agent tests: the fake (host processes) and the
 * real runc runner over the run stack, on the machine's bridge, with slugs packed from a directory of files.
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packSlugFile } from './slugs.js';
import { loadConfig } from '../../server/config.js';
import { createFakeRunner } from '../../runner/fake-runner.js';
import { addressAt, parseSubnet } from '../../runner/sandbox/network.js';
import { createRunc } from '../../runner/sandbox/runc.js';
import { createRuncRunner } from '../../runner/sandbox/runc-runner.js';
import { unpackedArchive } from '../../runner/archive/slug-cache.js';
import { stackPath } from '../../runner/sandbox/stack.js';
import type { Runner } from '../../runner/index.js';

export interface TestRunner {
  runner: Runner;
  /** A slug holding these files (path → content); returns its digest. */
  slug(files: Record<string, string>): Promise<string>;
  close(): Promise<void>;
}

/** Addresses from the top of the subnet, so they do not meet the platform's random ones in practice. */
export function memoryAddresses(subnet: string) {
  const held = new Map<string, string>();
  const { size } = parseSubnet(subnet);
  return {
    async allocate(owner: string) {
      for (;;) {
        const a = addressAt(subnet, randomInt(size - 4000, size - 2));
        if (![...held.values()].includes(a)) {
          held.set(owner, a);
          return a;
        }
      }
    },
    async release(address: string) {
      for (const [o, a] of held) if (a === address) held.delete(o);
    },
    async releaseOwners(owners: string[]) {
      for (const o of owners) held.delete(o);
    },
    held,
  };
}

export async function fakeTestRunner(): Promise<TestRunner> {
  return { runner: createFakeRunner(), slug: async () => '0'.repeat(64), close: async () => undefined };
}

export async function runcTestRunner(): Promise<TestRunner & { addresses: ReturnType<typeof memoryAddresses>; dir: string }> {
  const config = loadConfig();
  const rootfs = stackPath(config.stacksDir, 'run');
  assert.ok(existsSync(join(rootfs, '.slipway-stack')), `the run stack is missing at ${rootfs}: run \`npm run setup\` as root`);
  const dir = await mkdtemp(join(tmpdir(), 'slipway-runner-'));
  const runcRoot = join(dir, 'state');
  const bundles = join(dir, 'bundles');
  const slugs = join(dir, 'slugs');
  await mkdir(slugs);
  const addresses = memoryAddresses(config.subnet);
  const runner = createRuncRunner({
    runc: createRunc({ root: runcRoot, bundles }), runcRoot, bundles, rootfs, addresses, port: 5000,
    network: { bridge: config.bridge, subnet: config.subnet, nat: config.nat },
    dynosDir: join(dir, 'dynos'),
    slugLowers: (digest, owner) => unpackedArchive(join(slugs, `${digest}.tar.gz`), digest, join(dir, 'slug-cache'), owner),
  });
  let n = 0;
  return {
    runner, addresses, dir,
    async slug(files) {
      const src = join(dir, `src-${++n}`);
      for (const [path, content] of Object.entries(files)) {
        await mkdir(join(src, path, '..'), { recursive: true });
        await writeFile(join(src, path), content, { mode: 0o755 });
      }
      await mkdir(src, { recursive: true });
      return packSlugFile(src, slugs);
    },
    async close() {
      for (const id of await runner.list()) await runner.cleanup(id);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A tiny web server for slugs in runner tests: answers "hello from $DYNO" on $PORT. */
export const PY_WEB_SERVER = `import http.server, os
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("hello from " + os.environ["DYNO"] + "\\n").encode()
        self.send_response(200); self.send_header("content-length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("0.0.0.0", int(os.environ["PORT"])), H).serve_forever()
`;
