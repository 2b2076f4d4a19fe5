import path from 'node:path';
import { ensureClientSecrets, ensureProviderKeys, type ProviderKeys } from './keys';
import { ensureUsers, type DevUser } from './users';

/** The client id of the Temporal Web UI server (its SSO settings name it). */
export const UI_CLIENT_ID = 'temporal-ui';
/**
 * The service accounts (OAuth client credentials) that reach the Temporal server: the worker and
 * the API with one, the launcher that registers the namespace and its search attributes with the
 * other, so the everyday processes never hold namespace admin.
 */
export const SERVICE_CLIENT_ID = 'reform-pilots-service';
export const OPERATOR_CLIENT_ID = 'reform-pilots-operator';
/** The `aud` of access tokens for the admin API, unless OIDC_AUDIENCE says otherwise. */
export const DEFAULT_AUDIENCE = 'reform-pilots-api';
/** The claim carrying the product's role, unless OIDC_ROLE_CLAIM says otherwise. */
export const DEFAULT_ROLE_CLAIM = 'roles';
export const DEFAULT_IDP_PORT = 3001;

export interface IdentityFiles {
  usersFile: string;
  keysFile: string;
  clientsFile: string;
  /** The adapter's directory: sessions, interactions, codes and grants. */
  storeDir: string;
  users: DevUser[];
  keys: ProviderKeys;
  uiClientSecret: string;
  serviceClientSecret: string;
  operatorClientSecret: string;
}

/**
 * Everything the development identity provider keeps in the data directory, made on first use
 * (users with generated passwords, signing and cookie keys, the clients' secrets; all 0600).
 */
export function ensureIdentityFiles(dataDir: string): IdentityFiles {
  const usersFile = path.join(dataDir, 'idp-users.json');
  const keysFile = path.join(dataDir, 'idp-keys.json');
  const clientsFile = path.join(dataDir, 'idp-clients.json');
  const secrets = ensureClientSecrets(clientsFile, [UI_CLIENT_ID, SERVICE_CLIENT_ID, OPERATOR_CLIENT_ID]);
  return {
    usersFile,
    keysFile,
    clientsFile,
    storeDir: path.join(dataDir, 'idp-store'),
    users: ensureUsers(usersFile),
    keys: ensureProviderKeys(keysFile),
    uiClientSecret: secrets[UI_CLIENT_ID]!.clientSecret,
    serviceClientSecret: secrets[SERVICE_CLIENT_ID]!.clientSecret,
    operatorClientSecret: secrets[OPERATOR_CLIENT_ID]!.clientSecret,
  };
}

export const localIssuer = (port: number, host = '127.0.0.1') => `http://${host}:${port}`;

/**
 * What a launcher (scripts/up.ts) needs to point the Temporal Web UI, the API and the processes
 * that reach Temporal at the development provider, with the files made if missing. Secrets are
 * returned, not printed.
 */
export function developmentIdentity(options: { dataDir: string; port?: number }) {
  const files = ensureIdentityFiles(options.dataDir);
  const issuer = localIssuer(options.port ?? DEFAULT_IDP_PORT);
  return {
    issuer,
    /** Where the Temporal server fetches the keys that sign every access token. */
    jwksUrl: `${issuer}/jwks`,
    /** The token endpoint, for TEMPORAL_OAUTH_TOKEN_URL (client credentials). */
    tokenUrl: `${issuer}/token`,
    clientId: UI_CLIENT_ID,
    clientSecret: files.uiClientSecret,
    /** The worker's and the API's service account (namespace write). */
    serviceClient: { clientId: SERVICE_CLIENT_ID, clientSecret: files.serviceClientSecret },
    /** The launcher's service account (namespace admin: registration, search attributes). */
    operatorClient: { clientId: OPERATOR_CLIENT_ID, clientSecret: files.operatorClientSecret },
    usersFile: files.usersFile,
    audience: DEFAULT_AUDIENCE,
    roleClaim: DEFAULT_ROLE_CLAIM,
  };
}
