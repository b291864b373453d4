/**
 * Certificates for tests, made with openssl: a test CA the clients trust, intermediates, and server certificates
 * with the names, dates and issuers a test needs (an expired one too: `-days -1`).
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestCert {
  cert: string;
  key: string;
  certFile: string;
  keyFile: string;
}

let serial = 0;

/** A key and a CSR for CN, in dir under name. */
async function keyAndCsr(dir: string, name: string, cn: string, type: 'ec' | 'rsa'): Promise<{ keyFile: string; csrFile: string }> {
  const keyFile = join(dir, `${name}.key`);
  const csrFile = join(dir, `${name}.csr`);
  const newKey = type === 'rsa' ? ['-newkey', 'rsa:2048'] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];
  await run('openssl', ['req', ...newKey, '-nodes', '-keyout', keyFile, '-out', csrFile, '-subj', `/CN=${cn}`]);
  return { keyFile, csrFile };
}

async function loaded(certFile: string, keyFile: string): Promise<TestCert> {
  return { cert: await readFile(certFile, 'utf8'), key: await readFile(keyFile, 'utf8'), certFile, keyFile };
}

/** A self-signed root CA. */
export async function makeCa(dir: string, name = 'test-root'): Promise<TestCert> {
  const keyFile = join(dir, `${name}.key`);
  const certFile = join(dir, `${name}.crt`);
  await run('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '30',
    '-subj', `/CN=Slipway Test ${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return loaded(certFile, keyFile);
}

/**
 * A certificate issued by `by`: a server one for DNS names (the first is its CN), or an intermediate CA (ca: true);
 * an EC key unless key: 'rsa'. days -1 makes one that has already expired.
 */
export async function issue(dir: string, name: string, by: TestCert, o: { names?: string[]; ca?: boolean; days?: number; key?: 'ec' | 'rsa' }): Promise<TestCert> {
  const cn = o.ca ? `Slipway Test ${name}` : o.names![0];
  const { keyFile, csrFile } = await keyAndCsr(dir, name, cn, o.key ?? 'ec');
  const extFile = join(dir, `${name}.ext`);
  await writeFile(extFile, o.ca
    ? 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n'
    : `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=${o.names!.map((n) => `DNS:${n}`).join(',')}\n`);
  const certFile = join(dir, `${name}.crt`);
  await run('openssl', [
    'x509', '-req', '-in', csrFile, '-CA', by.certFile, '-CAkey', by.keyFile, '-set_serial', String(Date.now() * 100 + ++serial),
    '-days', String(o.days ?? 30), '-extfile', extFile, '-out', certFile,
  ]);
  return loaded(certFile, keyFile);
}
