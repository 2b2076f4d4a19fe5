/**
 * The Temporal UI server as `scripts/up.sh` runs it, for a browser test: signed in through the
 * identity provider, read-only, decoding through the stack's codec endpoint behind HTTPS (the UI
 * passes the access token only to an https codec endpoint; see scripts/tls-proxy.ts).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { devCertificate, startTlsProxy, type TlsProxy } from '../../scripts/tls-proxy';
import { freePort } from '../../scripts/temporal-server';
import { describeUiServer, resolveUiServer, startUiServer, writeUiConfig } from '../../scripts/temporal-ui';
import { ARTIFACTS } from './environment';

export interface TestUiServer {
  url: string;
  /** The codec endpoint the UI uses (https, in front of the stack's /codec). */
  codecEndpoint: string;
  stop(): Promise<void>;
}

/** A free port for the UI, known before the stack starts (its codec CORS names the UI's origin). */
export async function uiOrigin(): Promise<string> {
  return `http://127.0.0.1:${await freePort()}`;
}

export async function startTestUiServer(options: {
  url: string;
  temporalAddress: string;
  /** The stack's API, e.g. http://127.0.0.1:40123 */
  apiBaseUrl: string;
  oidc: { issuer: string; clientId: string; clientSecret: string };
}): Promise<TestUiServer> {
  const binary = resolveUiServer();
  process.stderr.write(`${describeUiServer(binary)}\n`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'temporal-ui-'));
  let proxy: TlsProxy | undefined;
  try {
    const api = new URL(options.apiBaseUrl);
    proxy = await startTlsProxy({
      port: 0,
      target: { host: api.hostname, port: Number(api.port) },
      certificate: devCertificate(dir),
    });
    const codecEndpoint = `https://127.0.0.1:${proxy.port}/codec`;
    const config = writeUiConfig({
      dir,
      temporalAddress: options.temporalAddress,
      uiUrl: options.url,
      oidc: options.oidc,
      codecEndpoint,
    });
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const server = await startUiServer(binary, config, {
      url: options.url,
      logFile: path.join(ARTIFACTS, 'temporal-ui-server.log'),
    });
    const tls = proxy;
    return {
      url: options.url,
      codecEndpoint,
      stop: async () => {
        await server.stop();
        await tls.close();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await proxy?.close();
    fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
