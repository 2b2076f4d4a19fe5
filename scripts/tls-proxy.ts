/**
 * HTTPS in front of the API's codec endpoint. The Temporal Web UI passes the signed-in user's
 * access token to a codec endpoint only when its URL begins with `https://` (ui-server v2.42.1,
 * the codec fetch in the UI's bundle); over http it does not call the endpoint at all. In
 * production the codec endpoint sits behind the site's TLS; for development and tests this TLS
 * terminator (a TCP pipe under TLS, HTTP passes through unchanged) serves it with a self-signed
 * certificate for 127.0.0.1 and localhost, made once with openssl.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';

export interface Certificate {
  cert: string;
  key: string;
  certFile: string;
}

/** A self-signed certificate for 127.0.0.1/localhost in `dir` (made when missing). */
export function devCertificate(dir: string): Certificate {
  fs.mkdirSync(dir, { recursive: true });
  const certFile = path.join(dir, 'codec-cert.pem');
  const keyFile = path.join(dir, 'codec-key.pem');
  if (!fs.existsSync(certFile) || !fs.existsSync(keyFile)) {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '825',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
        '-keyout',
        keyFile,
        '-out',
        certFile,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    fs.chmodSync(keyFile, 0o600);
  }
  return { cert: fs.readFileSync(certFile, 'utf8'), key: fs.readFileSync(keyFile, 'utf8'), certFile };
}

export interface TlsProxy {
  port: number;
  close(): Promise<void>;
}

/** Listens with TLS on 127.0.0.1:`port` (0: a free one) and pipes each connection to the target. */
export async function startTlsProxy(options: {
  port: number;
  target: { host: string; port: number };
  certificate: Certificate;
}): Promise<TlsProxy> {
  const sockets = new Set<net.Socket>();
  const server = tls.createServer({ cert: options.certificate.cert, key: options.certificate.key }, (client) => {
    const upstream = net.connect(options.target.port, options.target.host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
