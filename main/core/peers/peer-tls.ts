// This machine's certificate for peers: a self-signed EC P-256 certificate made once (at the first `peer pair` or
// the first start of the peer listener) and kept in <data>/state/peers (the key mode 0600). Peers do not trust it
// through any CA: they pin its SHA-256 fingerprint, which travels in the pairing code.
import { X509Certificate } from 'node:crypto';
import { chmod, mkdir, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generate } from 'selfsigned';

export interface PeerCertificate {
  /** PEM private key. */
  key: string;
  /** PEM certificate. */
  cert: string;
  /** SHA-256 of the certificate (DER), as 64 lower-case hex digits. */
  fingerprint: string;
}

export function peersDir(stateDir: string): string {
  return join(stateDir, 'peers');
}

/** Lower-case hex without separators: `AB:CD:…` (Node's form), `abcd…` and base64url of the 32 bytes all compare. */
export function normalizeFingerprint(value: string): string {
  const hex = value.replace(/:/g, '').toLowerCase();
  if (/^[0-9a-f]{64}$/.test(hex)) return hex;
  const bytes = Buffer.from(value, 'base64url');
  return bytes.length === 32 ? bytes.toString('hex') : hex;
}

export function certificateFingerprint(certPem: string | Buffer): string {
  return normalizeFingerprint(new X509Certificate(certPem).fingerprint256);
}

/** The fingerprint as `AB:CD:…` in groups, for people comparing it by eye. */
export function displayFingerprint(fingerprint: string): string {
  return (normalizeFingerprint(fingerprint).match(/../g) ?? []).join(':').toUpperCase();
}

async function readIfThere(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Writes a new file only (never over one): two processes making the certificate at once keep the first. */
async function writeNew(file: string, text: string, mode: number): Promise<boolean> {
  let handle;
  try {
    handle = await open(file, 'wx', mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  if (process.platform !== 'win32') await chmod(file, mode);
  return true;
}

/** The kept certificate, made first when there is none. */
export async function ensurePeerCertificate(stateDir: string, now = new Date()): Promise<PeerCertificate> {
  const dir = peersDir(stateDir);
  const keyFile = join(dir, 'tls-key.pem');
  const certFile = join(dir, 'tls-cert.pem');
  let key = await readIfThere(keyFile);
  let cert = await readIfThere(certFile);
  if (!key || !cert) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const made = await generate([{ name: 'commonName', value: 'Agent Room peer' }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      notBeforeDate: new Date(now.getTime() - 60_000),
      // Pinned, not trusted through a CA: expiry would only break pairings, so it is far away.
      notAfterDate: new Date(now.getTime() + 20 * 365 * 24 * 3600 * 1000),
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
        { name: 'extKeyUsage', serverAuth: true },
        {
          name: 'subjectAltName',
          altNames: [
            { type: 2, value: 'localhost' },
            { type: 7, ip: '127.0.0.1' },
          ],
        },
      ],
    });
    // The key first: a certificate without its key on disk would be useless.
    if (await writeNew(keyFile, made.private, 0o600)) await writeNew(certFile, made.cert, 0o644);
    // The certificate is written after the whole key: once it is there, so is the key.
    cert = await waitForCert(certFile);
    key = await readFile(keyFile, 'utf8');
  }
  return { key, cert, fingerprint: certificateFingerprint(cert) };
}

/** Another process wrote the key and is writing the certificate: wait for it briefly. */
async function waitForCert(file: string): Promise<string> {
  for (let i = 0; i < 50; i++) {
    const text = await readIfThere(file);
    if (text?.includes('END CERTIFICATE')) return text;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${file} is missing or incomplete: remove the files in its folder and pair again.`);
}
