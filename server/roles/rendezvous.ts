/**
 * The rendezvous port of attached one-offs (`slipway run`, `heroku run`), in the Heroku CLI's protocol:
 * - the client opens TLS to the attach_url's host and port and sends the URL's path, the secret, as a line;
 * - the agent answers one line (`rendezvous`) that the client drops, then the socket is the dyno's stdin and output;
 * - the last line is the exit marker `\uFFFF heroku-command-exit-status: N`; the CLI strips it and exits with N
 *   (unless the command echoes that marker itself, as `heroku run -x` appends).
 * Without a terminal, the Heroku CLI ends stdin by sending EOT (0x04) rather than by closing its side; `slipway run`
 * sends `SECRET?stdin=raw` and ends stdin by half-closing, so bytes reach the dyno as they are.
 * A secret opens one dyno, once, within 5 minutes. A client must send its first byte within 10 s, finish its TLS
 * handshake within 10 s and its secret line within 10 s; one address holds at most SLIPWAY_MAX_CONNECTIONS_PER_ADDRESS
 * connections. TLS with the platform's certificate; a platform without TLS
 * answers TLS with the self-signed certificate in DATA/tls, and plain TCP too.
 */
import type { Server, Socket } from 'node:net';
import { PassThrough, Transform } from 'node:stream';
import { createServer as createTlsServer } from 'node:tls';
import type { Agent } from '../../runner/agent/agent.js';
import type { Platform } from '../compose.js';
import type { Logger } from '../log.js';
import { EXIT_MARKER, RENDEZVOUS_GREETING } from '../dynos/one-off.js';
import { loadOneOffDyno } from '../plane/agent-store.js';
import { FIRST_BYTE_TIMEOUT_MS, loadTls, tlsOrElse } from '../tls.js';
import { capPerAddress } from '../../router/address-cap.js';

/** Reads the first line (the secret) of an attach connection, at most 200 bytes within 10 s. */
function readFirstLine(socket: Socket): Promise<{ line: string; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => done(new Error('no secret in time')), 10_000);
    const done = (e?: Error) => {
      clearTimeout(timer);
      socket.off('data', onData);
      if (e) reject(e);
    };
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const nl = buf.indexOf(10);
      if (nl >= 0) {
        done();
        socket.pause();
        resolve({ line: buf.subarray(0, nl).toString().trim(), rest: buf.subarray(nl + 1) });
      } else if (buf.length > 200) done(new Error('secret line too long'));
    };
    socket.on('data', onData);
  });
}

/** The secret and how stdin ends, from `SECRET` or `SECRET?stdin=raw`. */
export function parseAttachLine(line: string): { secret: string; rawStdin: boolean } {
  const [secret, query = ''] = line.split('?', 2);
  return { secret, rawStdin: new URLSearchParams(query).get('stdin') === 'raw' };
}

/** A stdin that ends at the first EOT byte (the Heroku CLI's end of input without a terminal); the rest is dropped. */
export function endAtEot(onEot: () => void = () => undefined): Transform {
  let ended = false;
  return new Transform({
    transform(chunk: Buffer, _enc, next) {
      if (ended) return next();
      const at = chunk.indexOf(4);
      if (at < 0) return next(null, chunk);
      ended = true;
      onEot();
      if (at > 0) this.push(chunk.subarray(0, at));
      this.push(null);
      next();
    },
  });
}

/** The dyno's stdin: what came with the secret line, then the rest of the socket. */
function dynoStdin(socket: Socket, rest: Buffer, eot: (() => void) | undefined): NodeJS.ReadableStream {
  const stdin = eot ? endAtEot(eot) : new PassThrough();
  if (rest.length) stdin.write(rest);
  // The client may have half-closed already, so the socket can be ended by now: nothing can be pushed back into it.
  if (socket.readableEnded) stdin.end();
  else {
    socket.pipe(stdin);
    socket.resume();
  }
  return stdin;
}

/**
 * How long, after the exit marker, the agent waits for a Heroku CLI without a terminal to send its EOT: the CLI
 * writes it when its own stdin ends, and a connection already closed by then makes it crash (EPIPE).
 */
const EOT_GRACE_MS = 2000;

export async function startRendezvous(p: Platform, agentId: string, agent: Agent, log: Logger): Promise<Server> {
  const attached = (socket: Socket) => {
    socket.on('error', () => undefined);
    void (async () => {
      const { line, rest } = await readFirstLine(socket);
      const { secret, rawStdin } = parseAttachLine(line);
      const dynoId = await p.services.oneOffs.claim(secret);
      const oneOff = dynoId ? await p.services.oneOffs.load(dynoId) : undefined;
      const d = dynoId && oneOff ? await loadOneOffDyno(p.db, agentId, dynoId, oneOff.env) : undefined;
      // The greeting goes alone, before anything of the dyno: the Heroku CLI drops the first chunk it reads.
      await new Promise<void>((resolve) => socket.write(RENDEZVOUS_GREETING, () => resolve()));
      if (!d || !oneOff) {
        socket.end(`Error: this attach URL is unknown, used or expired.\r\n${EXIT_MARKER}255\n`);
        return;
      }
      const endsWithEot = !rawStdin && !oneOff.tty;
      let eotSeen = () => undefined as void;
      const eot = new Promise<void>((resolve) => (eotSeen = resolve));
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      const stdin = dynoStdin(socket, rest, endsWithEot ? () => eotSeen() : undefined);
      const exit = await agent.runOneOff(d, { stdin, onData: (chunk) => socket.write(chunk), tty: oneOff.tty });
      const echoesItsOwn = d.command.includes(EXIT_MARKER.trim());
      if (!echoesItsOwn) socket.write(`${EXIT_MARKER}${exit.code ?? 255}\n`);
      if (endsWithEot) await Promise.race([eot, closed, new Promise((r) => setTimeout(r, EOT_GRACE_MS).unref())]);
      socket.end();
    })().catch((e: Error) => {
      log.warn('attach failed', { error: e.message });
      socket.destroy();
    });
  };
  // With TLS on (SLIPWAY_TLS), TLS only, with the API's certificate. Without, TLS (the Heroku CLI speaks nothing
  // else) with the self-signed certificate made in DATA/tls, or plain TCP.
  const platformTls = await loadTls(p.config);
  const tls = platformTls ?? (await loadTls({ ...p.config, tls: 'self-signed' }))!;
  const tlsServer = createTlsServer({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2', allowHalfOpen: true, handshakeTimeout: FIRST_BYTE_TIMEOUT_MS }, attached);
  const server = platformTls
    ? tlsOrElse(tlsServer, (socket) =>
        socket.end('Error: this rendezvous takes TLS only (the platform runs with TLS on): connect with TLS, as over the API\'s https:// URL.\n'))
    : tlsOrElse(tlsServer, attached);
  capPerAddress(server, p.config.maxConnectionsPerAddress);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(p.config.rendezvousPort, p.config.apiHost, () => resolve());
  });
  return server;
}
