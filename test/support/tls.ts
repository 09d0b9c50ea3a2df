/**
 * TLS for tests: a throwaway CA and a server certificate it signed (made with the openssl CLI
 * at test time, nothing checked in), and a TLS-terminating forwarder that puts https in front
 * of a plain-http test double on 127.0.0.1.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:tls';

export interface TestPki {
  readonly dir: string;
  /** Path of the CA certificate (PEM), for SUITECRM_CA_FILE. */
  readonly caFile: string;
  readonly serverKey: string;
  readonly serverCert: string;
  remove(): void;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA and a certificate for 127.0.0.1 and localhost signed by it, valid for one day. */
export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'suitecrm-proxy-pki-'));
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl(dir, ['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=suitecrm-auth-proxy test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  openssl(dir, ['req', '-new', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1']);
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  openssl(dir, ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1',
    '-extfile', 'server.ext', '-out', 'server.pem']);
  return {
    dir,
    caFile: join(dir, 'ca.pem'),
    serverKey: readFileSync(join(dir, 'server.key'), 'utf8'),
    serverCert: readFileSync(join(dir, 'server.pem'), 'utf8'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface TlsForwarder {
  readonly port: number;
  close(): Promise<void>;
}

/** Terminates TLS on a loopback port and pipes the plain bytes to `targetPort`. */
export async function startTlsForwarder(pki: TestPki, targetPort: number): Promise<TlsForwarder> {
  const sockets = new Set<Socket>();
  const server: Server = createServer({ key: pki.serverKey, cert: pki.serverCert }, (tlsSocket) => {
    const plain = connect(targetPort, '127.0.0.1');
    sockets.add(tlsSocket).add(plain);
    const drop = (): void => {
      tlsSocket.destroy();
      plain.destroy();
      sockets.delete(tlsSocket);
      sockets.delete(plain);
    };
    tlsSocket.on('error', drop).on('close', drop);
    plain.on('error', drop).on('close', drop);
    tlsSocket.pipe(plain).pipe(tlsSocket);
  });
  // Handshakes the client refuses (an untrusted certificate) end in an error here: expected.
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }),
  };
}
