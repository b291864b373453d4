/**
 * What an uploaded certificate is, and whether it can serve: the PEM chain parsed (the server's certificate
 * first, then each issuer), the private key matched against it, the chain's order checked link by link, its dates,
 * and the names it covers. Each problem is a 422 naming it; the key's text never appears in one.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import { invalidParams } from '../errors.js';
import { nameCovers } from '../../router/tls.js';

export { nameCovers };

const PEM_CERT = /-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+?-----END CERTIFICATE-----/g;
const MAX_CHAIN = 10;
const MAX_PEM_BYTES = 64 * 1024;

export interface CertFacts {
  /** The chain as given, normalized (one PEM block per certificate, newline-terminated). */
  chain: string;
  /** DNS names of the server certificate (its subjectAltName, else its CN). */
  names: string[];
  startsAt: Date;
  expiresAt: Date;
  issuer: string;
  subject: string;
  selfSigned: boolean;
  /** The chain ends at (or is issued by) a root this machine trusts. */
  caSigned: boolean;
}

/** The certificates of a PEM chain, in order. */
export function parseChain(pem: unknown): X509Certificate[] {
  if (typeof pem !== 'string' || !pem.trim()) throw invalidParams('certificate_chain is required: the PEM certificate, then its intermediates.');
  if (pem.length > MAX_PEM_BYTES) throw invalidParams(`certificate_chain is over ${MAX_PEM_BYTES / 1024} KB.`);
  const blocks = pem.match(PEM_CERT) ?? [];
  if (blocks.length === 0) throw invalidParams('certificate_chain holds no PEM certificate (-----BEGIN CERTIFICATE-----).');
  if (blocks.length > MAX_CHAIN) throw invalidParams(`certificate_chain holds ${blocks.length} certificates; at most ${MAX_CHAIN}.`);
  return blocks.map((b, i) => {
    try {
      return new X509Certificate(b);
    } catch {
      throw invalidParams(`Certificate ${i + 1} of certificate_chain is not a valid X.509 certificate.`);
    }
  });
}

export function parsePrivateKey(pem: unknown): KeyObject {
  if (typeof pem !== 'string' || !pem.trim()) throw invalidParams('private_key is required: the PEM private key of the certificate.');
  if (pem.length > MAX_PEM_BYTES) throw invalidParams(`private_key is over ${MAX_PEM_BYTES / 1024} KB.`);
  if (/ENCRYPTED/.test(pem)) throw invalidParams('private_key is encrypted: give it without a passphrase (openssl pkey -in KEY -out PLAIN).');
  try {
    return createPrivateKey(pem);
  } catch {
    throw invalidParams('private_key is not a PEM private key (RSA, EC or Ed25519).');
  }
}

/** DNS names a certificate covers: its subjectAltName DNS entries, else its subject's CN. */
export function certNames(cert: X509Certificate): string[] {
  const san = cert.subjectAltName;
  if (san) {
    return san.split(/,\s*/).filter((e) => e.startsWith('DNS:')).map((e) => e.slice(4).toLowerCase());
  }
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(cert.subject)?.[1];
  return cn ? [cn.toLowerCase()] : [];
}

let roots: X509Certificate[] | undefined;
const trustedRoots = () => (roots ??= rootCertificates.map((pem) => new X509Certificate(pem)));

function signedByRoot(top: X509Certificate): boolean {
  return trustedRoots().some((root) => (root.fingerprint256 === top.fingerprint256) || (top.checkIssued(root) && top.verify(root.publicKey)));
}

const oneLine = (dn: string) => dn.split('\n').filter(Boolean).join(', ');

/**
 * A chain and key checked for serving: the key is the server certificate's, each certificate is issued by the
 * next, the server certificate is valid now, and it covers at least one of the hostnames (when some are given).
 */
export function checkCertificate(chainPem: unknown, keyPem: unknown, hostnames: string[] | undefined, now = new Date()): CertFacts {
  const chain = parseChain(chainPem);
  const key = parsePrivateKey(keyPem);
  const leaf = chain[0];
  if (!leaf.checkPrivateKey(key)) throw invalidParams('The private key does not match the certificate (the first one of certificate_chain).');
  for (let i = 0; i + 1 < chain.length; i++) {
    const [child, parent] = [chain[i], chain[i + 1]];
    if (!child.checkIssued(parent) || !child.verify(parent.publicKey)) {
      throw invalidParams(`The certificate chain is out of order: certificate ${i + 2} (${oneLine(parent.subject)}) did not issue certificate ${i + 1} (${oneLine(child.subject)}). Put the server certificate first, then each issuer.`);
    }
  }
  const startsAt = new Date(leaf.validFrom);
  const expiresAt = new Date(leaf.validTo);
  if (expiresAt <= now) throw invalidParams(`The certificate expired on ${expiresAt.toISOString()}.`);
  if (startsAt > now) throw invalidParams(`The certificate is not valid before ${startsAt.toISOString()}.`);
  const names = certNames(leaf);
  if (names.length === 0) throw invalidParams('The certificate names no DNS name (no subjectAltName DNS entry, no CN).');
  if (hostnames && !hostnames.some((h) => names.some((n) => nameCovers(n, h)))) {
    throw invalidParams(`The certificate's names (${names.join(', ')}) cover none of the app's domains (${hostnames.join(', ') || 'none'}); add the domain first.`);
  }
  const selfSigned = leaf.checkIssued(leaf) && leaf.verify(leaf.publicKey);
  return {
    chain: chain.map((c) => c.toString().trim()).join('\n') + '\n',
    names, startsAt, expiresAt, issuer: oneLine(leaf.issuer), subject: oneLine(leaf.subject), selfSigned,
    caSigned: !selfSigned && signedByRoot(chain[chain.length - 1]),
  };
}
