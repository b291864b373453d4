/** `slipway up`: the all-in-one. Embedded PostgreSQL and Redis unless URLs are given, then the four roles. */
import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ROLES, type Config } from '../config.js';
import { baseChildEnv, configToEnv } from '../config-env.js';
import { openPlatform } from '../compose.js';
import { startEmbeddedPostgres } from '../embedded/postgres.js';
import { startEmbeddedRedis } from '../embedded/redis.js';
import type { Logger } from '../log.js';
import { BIN_JS } from '../paths.js';
import { readHealth } from '../roles/heartbeat.js';
import { keepEmbedded, type KeptEmbedded } from './keep-embedded.js';
import { createSupervisor } from './supervisor.js';
import { webUrl } from '../api/serializers.js';
import { checkHostFree, holdBridge, holdDataDir, UpRefused } from './one-per-host.js';
import { describeAddons, startAddonServers } from '../addons/up.js';

export async function up(config: Config, log: Logger, out: (line: string) => void = (l) => process.stdout.write(l + '\n')): Promise<void> {
  const embedded: KeptEmbedded[] = [];
  let addonHost: { stop(): Promise<void> } | undefined;
  let supervisor: ReturnType<typeof createSupervisor> | undefined;
  let shuttingDown: Promise<void> | undefined;
  // Before anything else: a second `up` on this data dir refuses here, having touched nothing.
  await mkdir(config.dataDir, { recursive: true, mode: 0o711 });
  const me = { apiUrl: config.publicUrl, routerUrl: `http://${config.routerHost}:${config.routerPort}`, dataDir: config.dataDir };
  const held = await holdDataDir(config.dataDir, me);
  const bridge = await holdBridge(config.bridge, me).catch(async (e: Error) => {
    await held.release();
    throw e;
  });

  const shutdown = (signal: string) => {
    shuttingDown ??= (async () => {
      log.info('stopping', { signal });
      await supervisor?.stop();
      await addonHost?.stop().catch((err: Error) => log.error('stopping the add-on servers failed', { error: err.message }));
      for (const e of embedded.reverse()) await e.stop().catch((err: Error) => log.error('stop failed', { error: err.message }));
      await bridge.release();
      await held.release();
      log.info('stopped');
    })();
    return shuttingDown;
  };
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const onSignal = (sig: NodeJS.Signals) => void shutdown(sig).then(resolveDone);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    await chmod(config.dataDir, 0o711); // the postgres user must traverse it, nobody may list it
    if (!config.databaseUrl) {
      const pgEmbedded = await keepEmbedded('PostgreSQL', () => startEmbeddedPostgres({ dir: join(config.dataDir, 'postgres'), binDir: config.pgBinDir, asRoot: config.isRoot, log }), log);
      embedded.push(pgEmbedded);
      config = { ...config, databaseUrl: pgEmbedded.url };
    }
    if (!config.redisUrl) {
      const redisEmbedded = await keepEmbedded('Redis', () => startEmbeddedRedis({ dir: join(config.dataDir, 'redis'), log, maxMemoryBytes: config.redisMaxMemoryBytes }), log);
      embedded.push(redisEmbedded);
      config = { ...config, redisUrl: redisEmbedded.url };
    }
    const platform = await openPlatform(config, { poolSize: 2 });
    await checkHostFree(platform.services.agents).catch(async (e: Error) => {
      await platform.close();
      throw e;
    });
    addonHost = await startAddonServers(config, log);
    const tokenFile = join(config.dataDir, 'admin-token');
    const admin = await platform.services.users.ensureAdmin(config.adminEmail, config.adminPassword, tokenFile);

    const env = { ...baseChildEnv(), ...configToEnv(config) };
    supervisor = createSupervisor(
      ROLES.map((role) => ({ name: role, command: process.execPath, args: [BIN_JS, 'serve', role, '--supervised'], env })),
      log,
    );
    if (shuttingDown) throw new Error('stopped while starting');
    supervisor.start();

    const until = Date.now() + 60_000;
    let report = await readHealth(platform.redis, config.redisPrefix).catch(() => undefined);
    while (!report?.ok && Date.now() < until && !shuttingDown) {
      await new Promise((r) => setTimeout(r, 200));
      report = await readHealth(platform.redis, config.redisPrefix).catch(() => undefined);
    }
    await platform.close();
    if (shuttingDown) return done;
    if (!report?.ok) {
      const down = Object.entries(report?.roles ?? {}).filter(([, r]) => r.state !== 'up').map(([n]) => n);
      log.error('roles not up after 60s; still trying', { down: down.join(',') });
    }
    out('');
    out('Slipway is up.');
    out(`  Dashboard and API  ${config.publicUrl}/`);
    out(`  git push           ${config.publicUrl}/APP.git`);
    out(`  Router             http://${config.routerHost}:${config.routerPort}/  (apps at ${webUrl('APP', { publicUrl: config.publicUrl, baseDomain: config.baseDomain, routerPort: config.routerPort })})`);
    out(`  Data dir           ${config.dataDir}`);
    out(`  Database           ${config.databaseUrl === embedded[0]?.url ? 'embedded PostgreSQL in ' + join(config.dataDir, 'postgres') : 'DATABASE_URL'}`);
    out(`  Redis              ${embedded.some((e) => e.url === config.redisUrl) ? 'embedded Redis in ' + join(config.dataDir, 'redis') : 'REDIS_URL'}`);
    out(`  Add-ons            ${describeAddons(config)}`);
    out(`  Admin              ${admin.user.email}`);
    if (admin.token) {
      out(`  Admin API token    ${admin.token}`);
      out(`                     (shown once; also in ${tokenFile}, mode 0600)`);
    } else {
      out(`  Admin API token    in ${tokenFile}`);
    }
    out(`  Log in             slipway login --token "$(cat ${tokenFile})"`);
    out('Press Ctrl-C to stop.');
  } catch (e) {
    await shutdown('start failure');
    if (e instanceof UpRefused) throw e; // told as is
    log.error('start failed', { error: (e as Error).message });
    process.exitCode = 1;
    return;
  }
  return done;
}
