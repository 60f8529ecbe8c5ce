// A certificate authority made for one test with openssl (on the machine and in CI), and server certificates
// it signs: for TLS backends and the gateway's TLS listener. EC P-256 keys, valid for a day.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface KeyPair {
  /** PEM certificate. */
  cert: string;
  /** PEM private key. */
  key: string;
}

export interface TestCa extends KeyPair {
  /** A server certificate for `names` (DNS names; IP addresses become IP SANs), signed by this CA. */
  issue(names: string[]): KeyPair;
  /** Removes the files. */
  remove(): void;
}

const openssl = (args: string[], cwd: string): void => void execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
const IP = /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-f:]+:[0-9a-f:]*)$/i;

export function makeCa(commonName = 'gateway-operator test CA'): TestCa {
  const dir = mkdtempSync(join(tmpdir(), 'test-ca-'));
  const keyArgs = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl(['req', '-x509', ...keyArgs, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', `/CN=${commonName}`], dir);
  let issued = 0;
  return {
    cert: readFileSync(join(dir, 'ca.pem'), 'utf8'),
    key: readFileSync(join(dir, 'ca.key'), 'utf8'),
    issue(names) {
      const n = ++issued;
      const san = names.map((name) => (IP.test(name) ? `IP:${name}` : `DNS:${name}`)).join(',');
      writeFileSync(join(dir, `${n}.ext`), `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n`);
      openssl(['req', ...keyArgs, '-keyout', `${n}.key`, '-out', `${n}.csr`, '-subj', `/CN=${names[0] ?? 'server'}`], dir);
      openssl(['x509', '-req', '-in', `${n}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', String(1000 + n), '-out', `${n}.pem`, '-days', '1', '-extfile', `${n}.ext`], dir);
      return { cert: readFileSync(join(dir, `${n}.pem`), 'utf8'), key: readFileSync(join(dir, `${n}.key`), 'utf8') };
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
