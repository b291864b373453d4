/**
 * A TEST STAND-IN for an ACME certificate authority (RFC 8555), run by the tests on loopback because no public ACME
 * server (Let's Encrypt, its staging) is reachable from this machine. It speaks the protocol the production client
 * (acme-client) uses: a directory, nonces, accounts, orders, HTTP-01 authorizations, finalize and certificate
 * download, every POST a JWS checked against the account's key. An HTTP-01 challenge is validated as a CA does after
 * resolving the name: a GET of /.well-known/acme-challenge/TOKEN with that Host, here sent to the router's port on
 * loopback, whose body must be the key authorization. Certificates are signed by a test CA with openssl, valid for
 * `days` (set per test, to make renewals due).
 */
import { createHash, createPublicKey, randomBytes, verify, type JsonWebKey } from 'node:crypto';
import { execFile } from 'node:child_process';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestCert } from './certs.js';

const run = promisify(execFile);
const b64u = (b: Buffer | string) => Buffer.from(b).toString('base64url');

interface Authz { id: string; host: string; token: string; status: 'pending' | 'valid' | 'invalid'; error?: string; account: string; started?: boolean }
interface Order { id: string; hosts: string[]; authz: string[]; status: 'pending' | 'ready' | 'valid' | 'invalid'; cert?: string; account: string }

export interface AcmeStandIn {
  directoryUrl: string;
  /** Validity of the certificates it issues from now on. */
  days: number;
  /** When set, every challenge fails with this (a CA that cannot reach the name). */
  failWith?: string;
  /** Names whose challenges fail (a CA that cannot reach them), the others validated as usual. */
  failFor?: (host: string) => boolean;
  orders: Order[];
  close(): Promise<void>;
}

/** RFC 7638 thumbprint of a JWK (what a key authorization ends with). */
export function thumbprint(jwk: JsonWebKey): string {
  const fields = jwk.kty === 'EC' ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y } : { e: jwk.e, kty: jwk.kty, n: jwk.n };
  return b64u(createHash('sha256').update(JSON.stringify(fields)).digest());
}

function fetchChallenge(routerPort: number, host: string, token: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: routerPort, path: `/.well-known/acme-challenge/${token}`, headers: { host }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => (res.statusCode === 200 ? resolve(body.trim()) : reject(new Error(`the challenge answered ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

export async function startAcmeStandIn(o: { ca: TestCert; dir: string; routerPort: () => number }): Promise<AcmeStandIn> {
  const accounts = new Map<string, JsonWebKey>();
  const nonces = new Set<string>();
  const authzs = new Map<string, Authz>();
  const state: AcmeStandIn = { directoryUrl: '', days: 90, orders: [], close: async () => undefined };
  let base = '';
  const nonce = () => {
    const n = b64u(randomBytes(16));
    nonces.add(n);
    return n;
  };
  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'replay-nonce': nonce(), 'content-type': typeof body === 'string' ? 'application/pem-certificate-chain' : 'application/json', ...headers });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  };
  const problem = (res: ServerResponse, status: number, type: string, detail: string) =>
    send(res, status, { type: `urn:ietf:params:acme:error:${type}`, detail }, { 'content-type': 'application/problem+json' });

  /** The JWS of a POST checked: a nonce it was given, the URL it was sent to, the account's (or the new account's) key. */
  const readJws = async (req: IncomingMessage): Promise<{ payload: any; account: string; jwk: JsonWebKey }> => {
    let raw = '';
    for await (const c of req) raw += c;
    const jws = JSON.parse(raw) as { protected: string; payload: string; signature: string };
    const head = JSON.parse(Buffer.from(jws.protected, 'base64url').toString()) as { alg: string; nonce: string; url: string; jwk?: JsonWebKey; kid?: string };
    if (!nonces.delete(head.nonce)) throw Object.assign(new Error('bad nonce'), { acme: 'badNonce' });
    if (head.url !== base + req.url) throw new Error(`the JWS names ${head.url}, not ${base + req.url}`);
    const account = head.kid ?? `${base}/acct/${thumbprint(head.jwk!)}`;
    const jwk = head.jwk ?? accounts.get(account);
    if (!jwk) throw Object.assign(new Error('no such account'), { acme: 'accountDoesNotExist' });
    const key = createPublicKey({ key: jwk, format: 'jwk' });
    const data = Buffer.from(`${jws.protected}.${jws.payload}`);
    const sig = Buffer.from(jws.signature, 'base64url');
    const ok = head.alg.startsWith('ES') ? verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, sig) : verify('sha256', data, key, sig);
    if (!ok) throw new Error('the JWS signature does not verify');
    return { payload: jws.payload ? JSON.parse(Buffer.from(jws.payload, 'base64url').toString()) : undefined, account, jwk };
  };

  const sign = async (csrB64u: string, id: string): Promise<string> => {
    const csrFile = join(o.dir, `acme-${id}.csr`);
    const certFile = join(o.dir, `acme-${id}.crt`);
    await writeFile(csrFile, `-----BEGIN CERTIFICATE REQUEST-----\n${Buffer.from(csrB64u, 'base64url').toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE REQUEST-----\n`);
    const ext = join(o.dir, `acme-${id}.ext`);
    const order = state.orders.find((x) => x.id === id)!;
    await writeFile(ext, `basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=${order.hosts.map((h) => `DNS:${h}`).join(',')}\n`);
    await run('openssl', ['x509', '-req', '-in', csrFile, '-CA', o.ca.certFile, '-CAkey', o.ca.keyFile, '-set_serial', String(Date.now()), '-days', String(state.days), '-extfile', ext, '-out', certFile]);
    return (await readFile(certFile, 'utf8')) + o.ca.cert;
  };

  const validate = async (a: Authz) => {
    try {
      if (state.failWith) throw new Error(state.failWith);
      if (state.failFor?.(a.host)) throw new Error('connection refused by the test stand-in');
      const got = await fetchChallenge(o.routerPort(), a.host, a.token);
      const want = `${a.token}.${thumbprint(accounts.get(a.account)!)}`;
      a.status = got === want ? 'valid' : 'invalid';
      if (got !== want) a.error = `the key authorization at http://${a.host}/.well-known/acme-challenge/${a.token} is wrong`;
    } catch (e) {
      a.status = 'invalid';
      a.error = `could not fetch http://${a.host}/.well-known/acme-challenge/${a.token}: ${(e as Error).message}`;
    }
  };

  const authzJson = (a: Authz) => ({
    status: a.status, identifier: { type: 'dns', value: a.host }, expires: new Date(Date.now() + 86_400_000).toISOString(),
    challenges: [{ type: 'http-01', url: `${base}/chall/${a.id}`, token: a.token, status: a.status === 'pending' && a.started ? 'processing' : a.status, ...(a.error ? { error: { type: 'urn:ietf:params:acme:error:connection', detail: a.error } } : {}) }],
  });
  const orderJson = (x: Order) => {
    if (x.status === 'pending' && x.authz.every((id) => authzs.get(id)!.status === 'valid')) x.status = 'ready';
    if (x.status === 'pending' && x.authz.some((id) => authzs.get(id)!.status === 'invalid')) x.status = 'invalid';
    return {
      status: x.status, identifiers: x.hosts.map((h) => ({ type: 'dns', value: h })), authorizations: x.authz.map((id) => `${base}/authz/${id}`),
      finalize: `${base}/order/${x.id}/finalize`, ...(x.cert ? { certificate: `${base}/cert/${x.id}` } : {}), expires: new Date(Date.now() + 86_400_000).toISOString(),
    };
  };

  const routes = async (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    if (url === '/directory') return send(res, 200, { newNonce: `${base}/new-nonce`, newAccount: `${base}/new-account`, newOrder: `${base}/new-order`, revokeCert: `${base}/revoke`, keyChange: `${base}/key-change`, meta: { termsOfService: `${base}/terms` } });
    if (url === '/new-nonce') return send(res, req.method === 'HEAD' ? 200 : 204, '');
    if (req.method !== 'POST') return problem(res, 405, 'malformed', 'POST only');
    const { payload, account, jwk } = await readJws(req);
    if (url === '/new-account') {
      const fresh = !accounts.has(account);
      accounts.set(account, jwk);
      return send(res, fresh ? 201 : 200, { status: 'valid', contact: payload?.contact ?? [] }, { location: account });
    }
    if (url === '/new-order') {
      const id = String(state.orders.length + 1);
      const hosts = (payload.identifiers as { value: string }[]).map((i) => i.value);
      const authz = hosts.map((host) => {
        const a: Authz = { id: `${id}-${host}`, host, token: b64u(randomBytes(24)), status: 'pending', account };
        authzs.set(a.id, a);
        return a.id;
      });
      const order: Order = { id, hosts, authz, status: 'pending', account };
      state.orders.push(order);
      return send(res, 201, orderJson(order), { location: `${base}/order/${id}` });
    }
    if (url.startsWith('/acct/') && accounts.has(base + url)) return send(res, 200, { status: 'valid', contact: payload?.contact ?? [] }, { location: base + url });
    let m = /^\/authz\/(.+)$/.exec(url);
    if (m && authzs.has(m[1])) return send(res, 200, authzJson(authzs.get(m[1])!));
    m = /^\/chall\/(.+)$/.exec(url);
    if (m && authzs.has(m[1])) {
      const a = authzs.get(m[1])!;
      if (a.status === 'pending' && !a.started) {
        a.started = true;
        setTimeout(() => void validate(a), 50);
      }
      return send(res, 200, authzJson(a).challenges[0], { link: `<${base}/authz/${a.id}>;rel="up"` });
    }
    m = /^\/order\/(\d+)(\/finalize)?$/.exec(url);
    const order = m ? state.orders.find((x) => x.id === m![1]) : undefined;
    if (order && m![2]) {
      if (orderJson(order).status !== 'ready') return problem(res, 403, 'orderNotReady', `the order is ${order.status}`);
      order.cert = await sign(payload.csr, order.id);
      order.status = 'valid';
      return send(res, 200, orderJson(order), { location: `${base}/order/${order.id}` });
    }
    if (order) return send(res, 200, orderJson(order), { location: `${base}/order/${order.id}` });
    m = /^\/cert\/(\d+)$/.exec(url);
    const issued = m ? state.orders.find((x) => x.id === m![1])?.cert : undefined;
    if (issued) return send(res, 200, issued);
    return problem(res, 404, 'malformed', `no such resource ${url}`);
  };

  const server: Server = createServer((req, res) => {
    routes(req, res).catch((e: Error & { acme?: string }) => problem(res, 400, e.acme ?? 'malformed', e.message));
  });
  server.on('error', () => undefined);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  state.directoryUrl = `${base}/directory`;
  state.close = () => new Promise<void>((r) => server.close(() => r()));
  return state;
}
