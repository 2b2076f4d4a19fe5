import type http from 'node:http';
import type { Account, Configuration, KoaContextWithOIDC } from 'oidc-provider';
import type Provider from 'oidc-provider';
import { createLogger, type Logger } from '../logger';
import { loadOidcProvider } from './esm';
import { fileAdapterFactory } from './file-adapter';
import { escapeHtml } from './html';
import {
  DEFAULT_AUDIENCE,
  DEFAULT_ROLE_CLAIM,
  ensureIdentityFiles,
  OPERATOR_CLIENT_ID,
  SERVICE_CLIENT_ID,
  UI_CLIENT_ID,
} from './files';
import { interactionRoutes } from './interactions';
import { isServiceClientId, TEMPORAL_PERMISSIONS_CLAIM, temporalPermissions } from './temporal-permissions';
import type { DevUser } from './users';

/**
 * The development OpenID Connect provider (oidc-provider, the certified implementation): one
 * user per role, our own login page, adapter and keys, and access tokens that are JWTs for the
 * admin API and the Temporal server (its default JWT claim mapper reads their `permissions`);
 * service accounts get theirs by the client-credentials grant. Production points
 * OIDC_ISSUER_URL and TEMPORAL_OAUTH_TOKEN_URL at an issuer of its own instead.
 */
export interface IdentityProviderOptions {
  /** e.g. http://127.0.0.1:3001; tokens name it as `iss`, so it is the address clients use. */
  issuer: string;
  /** Users, keys, client secret and the adapter's files live here (.data). */
  dataDir: string;
  /** The Temporal Web UI server's callbacks: `<ui origin>/auth/sso/callback`. */
  uiRedirectUris: readonly string[];
  /** `aud` of access tokens (default reform-pilots-api). */
  audience?: string;
  /** The claim carrying the roles, in access and ID tokens (default `roles`). */
  roleClaim?: string;
  /** Lifetime of access tokens in seconds, people's and service accounts' (default 3600). */
  accessTokenTtl?: number;
  /** The Temporal namespace the `permissions` claim names (default `default`). */
  temporalNamespace?: string;
  logger?: Logger;
}

export interface IdentityProvider {
  issuer: string;
  audience: string;
  /** The resource indicator that stands for the admin API (what a client sends as `resource`). */
  resource: string;
  roleClaim: string;
  usersFile: string;
  uiClient: { clientId: string; clientSecret: string };
  /** Service accounts (client credentials): the worker and API's, and the launcher's. */
  serviceClient: { clientId: string; clientSecret: string };
  operatorClient: { clientId: string; clientSecret: string };
  temporalNamespace: string;
  /** Seconds. */
  accessTokenTtl: number;
  provider: Provider;
  /** For http.createServer: the login pages, then the provider. */
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => void;
}

/**
 * A resource indicator must be an absolute URI (RFC 8707); an audience such as
 * `reform-pilots-api` is not one, so it stands behind a URN.
 */
export const resourceIndicatorFor = (audience: string) => (URL.canParse(audience) ? audience : `urn:${audience}`);

const devEmail = (user: DevUser) => `${user.username}@reform-pilots.invalid`;

export function createIdentityProvider(options: IdentityProviderOptions): IdentityProvider {
  const { default: OidcProvider, errors } = loadOidcProvider();
  const logger = options.logger ?? createLogger('identity');
  const audience = options.audience ?? DEFAULT_AUDIENCE;
  const roleClaim = options.roleClaim ?? DEFAULT_ROLE_CLAIM;
  const resource = resourceIndicatorFor(audience);
  const accessTokenTtl = options.accessTokenTtl ?? 3600;
  if (!Number.isInteger(accessTokenTtl) || accessTokenTtl < 1)
    throw new Error('accessTokenTtl: whole seconds, at least 1');
  const temporalNamespace = options.temporalNamespace ?? 'default';
  if (options.uiRedirectUris.length === 0) throw new Error('the identity provider needs at least one UI redirect URI');
  const files = ensureIdentityFiles(options.dataDir);
  const userById = new Map(files.users.map((u) => [u.username, u]));

  const account = (user: DevUser): Account => ({
    accountId: user.username,
    // Filtered by oidc-provider to what the granted scopes name (see `claims` below).
    claims: () => ({
      sub: user.username,
      name: user.username,
      preferred_username: user.username,
      email: devEmail(user),
      email_verified: false,
      [roleClaim]: [user.role],
    }),
  });

  const configuration: Configuration = {
    adapter: fileAdapterFactory(files.storeDir),
    jwks: files.keys.signing,
    cookies: { keys: files.keys.cookies },
    clients: [
      {
        client_id: UI_CLIENT_ID,
        client_secret: files.uiClientSecret,
        client_name: 'Temporal Web UI',
        redirect_uris: [...options.uiRedirectUris],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        scope: 'openid profile email',
      },
      // Service accounts: no user, no browser, no redirect; the secret in the Basic header.
      ...[
        { id: SERVICE_CLIENT_ID, secret: files.serviceClientSecret, name: 'Reform pilots worker and API' },
        { id: OPERATOR_CLIENT_ID, secret: files.operatorClientSecret, name: 'Reform pilots launcher' },
      ].map(({ id, secret, name }) => ({
        client_id: id,
        client_secret: secret,
        client_name: name,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic' as const,
      })),
    ],
    findAccount: (_ctx, sub) => {
      const user = userById.get(sub);
      return user ? account(user) : undefined;
    },
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username', roleClaim],
      email: ['email', 'email_verified'],
    },
    // The ID token carries the profile claims (role included) itself, not only the userinfo
    // endpoint: the Temporal UI server reads the ID token.
    conformIdTokenClaims: false,
    // The authorization code flow only: no tokens in front-channel redirects.
    responseTypes: ['code'],
    // Confidential clients authenticate at the token endpoint; PKCE is required of public ones.
    pkce: { required: (_ctx, client) => client.clientAuthMethod === 'none' },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    // Seconds. A sign-in page left open an hour expires; a session and its grant last a working
    // fortnight (the UI server keeps its own session shorter).
    ttl: {
      AccessToken: accessTokenTtl,
      ClientCredentials: accessTokenTtl,
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 3600,
      Session: 14 * 24 * 3600,
      Grant: 14 * 24 * 3600,
    },
    features: {
      devInteractions: { enabled: false },
      // Service accounts take their tokens themselves; the resource (and so `aud` and the JWT
      // format) is the same as people's, defaulted when they send none.
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // The Temporal UI server sends no `resource`: it still gets a JWT for the admin API.
        defaultResource: (_ctx, _client, oneOf) => (oneOf ? (oneOf.includes(resource) ? resource : oneOf) : resource),
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, indicator) => {
          if (indicator !== resource) throw new errors.InvalidTarget();
          return {
            scope: '',
            audience,
            accessTokenFormat: 'jwt',
            accessTokenTTL: accessTokenTtl,
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    // People's tokens carry their product role (for the admin API) and their Temporal permissions
    // (for the Temporal server); a service account's only its Temporal permissions, so the admin
    // API, which needs a role, never takes it for a person.
    extraTokenClaims: (_ctx, token) => {
      const user = 'accountId' in token ? userById.get(token.accountId) : undefined;
      if (user) {
        return {
          preferred_username: user.username,
          [roleClaim]: [user.role],
          [TEMPORAL_PERMISSIONS_CLAIM]: temporalPermissions(user.role, temporalNamespace),
        };
      }
      if (token.kind === 'ClientCredentials' && token.clientId !== undefined && isServiceClientId(token.clientId)) {
        return { [TEMPORAL_PERMISSIONS_CLAIM]: temporalPermissions(token.clientId, temporalNamespace) };
      }
      return undefined;
    },
    renderError: (ctx: KoaContextWithOIDC, out) => {
      ctx.type = 'html';
      ctx.body = `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>登录出错 · Sign-in error</title></head><body><h1>登录出错<br>Sign-in error</h1><p>${escapeHtml(out.error)}${out.error_description ? `: ${escapeHtml(out.error_description)}` : ''}</p></body></html>`;
    },
  };

  const provider = new OidcProvider(options.issuer, configuration);
  // Errors and outcomes by name only: no token, code, secret or password reaches a log line.
  provider.on('server_error', (_ctx, error) =>
    logger.error({ error: error.name, message: error.message }, 'identity provider error'),
  );
  const refused = (event: string) => (_ctx: KoaContextWithOIDC, error: Error & { error_description?: string }) =>
    logger.warn({ event, error: error.message, detail: error.error_description }, 'request refused');
  provider.on('authorization.error', refused('authorization'));
  provider.on('grant.error', refused('grant'));
  provider.on('userinfo.error', refused('userinfo'));
  provider.on('grant.success', (ctx) => logger.info({ client: ctx.oidc.client?.clientId }, 'tokens issued'));

  const interactions = interactionRoutes({
    provider,
    users: files.users,
    firstPartyClients: new Set([UI_CLIENT_ID]),
    logger,
  });
  const callback = provider.callback();
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    const handled = interactions(req, res, pathname) ?? callback(req, res);
    handled.catch((error: unknown) => {
      logger.error(
        { error: (error as Error).name, message: (error as Error).message },
        'identity provider request failed',
      );
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('内部错误 · Internal error');
    });
  };

  return {
    issuer: options.issuer,
    audience,
    resource,
    roleClaim,
    usersFile: files.usersFile,
    uiClient: { clientId: UI_CLIENT_ID, clientSecret: files.uiClientSecret },
    serviceClient: { clientId: SERVICE_CLIENT_ID, clientSecret: files.serviceClientSecret },
    operatorClient: { clientId: OPERATOR_CLIENT_ID, clientSecret: files.operatorClientSecret },
    temporalNamespace,
    accessTokenTtl,
    provider,
    handler,
  };
}
