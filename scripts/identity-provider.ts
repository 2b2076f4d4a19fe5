/**
 * The development OpenID Connect provider on its own: `npx tsx scripts/identity-provider.ts`.
 *   IDP_PORT              default 3001; the issuer is http://127.0.0.1:<port> (IDP_ISSUER overrides,
 *                         e.g. when clients reach it under another name)
 *   DATA_DIR              default .data: users (idp-users.json), keys, client secret, sessions
 *   IDP_UI_REDIRECT_URIS  comma-separated; default the Temporal Web UI's callback on
 *                         127.0.0.1:<TEMPORAL_UI_PORT, default 8233>/auth/sso/callback
 *   OIDC_AUDIENCE, OIDC_ROLE_CLAIM  as the API reads them (defaults reform-pilots-api, roles)
 *   TEMPORAL_NAMESPACE    the namespace the tokens' `permissions` claim names (default `default`)
 *   IDP_ACCESS_TOKEN_TTL_SECONDS  lifetime of access tokens, people's and service accounts'
 *                         (default 3600; short ones let tests watch a renewal)
 * SIGINT/SIGTERM: stop accepting, close open connections, exit 0.
 */
import http from 'node:http';
import path from 'node:path';
import { createLogger } from '../lib/logger';
import { DEFAULT_IDP_PORT, localIssuer } from '../lib/identity/files';
import { createIdentityProvider } from '../lib/identity/provider';

const ROOT = path.resolve(__dirname, '..');

function main(): void {
  const logger = createLogger('identity', process.env.LOG_LEVEL);
  const port = Number(process.env.IDP_PORT ?? DEFAULT_IDP_PORT);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error('IDP_PORT must be a port number');
  const ttlText = process.env.IDP_ACCESS_TOKEN_TTL_SECONDS;
  const accessTokenTtl = ttlText ? Number(ttlText) : undefined;
  if (accessTokenTtl !== undefined && !(Number.isInteger(accessTokenTtl) && accessTokenTtl >= 1)) {
    throw new Error('IDP_ACCESS_TOKEN_TTL_SECONDS must be a whole number of seconds, at least 1');
  }
  const uiPort = process.env.TEMPORAL_UI_PORT ?? '8233';
  const redirectUris = (process.env.IDP_UI_REDIRECT_URIS ?? `http://127.0.0.1:${uiPort}/auth/sso/callback`)
    .split(',')
    .map((uri) => uri.trim())
    .filter(Boolean);
  const idp = createIdentityProvider({
    issuer: process.env.IDP_ISSUER ?? localIssuer(port),
    dataDir: path.resolve(ROOT, process.env.DATA_DIR ?? '.data'),
    uiRedirectUris: redirectUris,
    audience: process.env.OIDC_AUDIENCE || undefined,
    roleClaim: process.env.OIDC_ROLE_CLAIM || undefined,
    accessTokenTtl,
    temporalNamespace: process.env.TEMPORAL_NAMESPACE || undefined,
    logger,
  });
  const server = http.createServer(idp.handler);
  server.listen(port, '127.0.0.1', () => {
    logger.info(
      {
        issuer: idp.issuer,
        audience: idp.audience,
        roleClaim: idp.roleClaim,
        temporalNamespace: idp.temporalNamespace,
        accessTokenTtl: idp.accessTokenTtl,
        users: idp.usersFile,
      },
      'identity provider listening (development)',
    );
  });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    server.close(() => process.exit(0));
    // Browsers keep connections open: without this, close would wait for them to time out.
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), 2_000).unref();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

try {
  main();
} catch (error) {
  console.error(`[identity] ${(error as Error).message}`);
  process.exit(1);
}
