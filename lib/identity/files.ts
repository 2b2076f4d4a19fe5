import path from 'node:path';
import { ensureClientSecrets, ensureProviderKeys, type ProviderKeys } from './keys';
import { ensureUsers, type DevUser } from './users';

/** The client id of the Temporal Web UI server (its SSO settings name it). */
export const UI_CLIENT_ID = 'temporal-ui';
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
}

/**
 * Everything the development identity provider keeps in the data directory, made on first use
 * (users with generated passwords, signing and cookie keys, the UI client's secret; all 0600).
 */
export function ensureIdentityFiles(dataDir: string): IdentityFiles {
  const usersFile = path.join(dataDir, 'idp-users.json');
  const keysFile = path.join(dataDir, 'idp-keys.json');
  const clientsFile = path.join(dataDir, 'idp-clients.json');
  const secrets = ensureClientSecrets(clientsFile, [UI_CLIENT_ID]);
  return {
    usersFile,
    keysFile,
    clientsFile,
    storeDir: path.join(dataDir, 'idp-store'),
    users: ensureUsers(usersFile),
    keys: ensureProviderKeys(keysFile),
    uiClientSecret: secrets[UI_CLIENT_ID]!.clientSecret,
  };
}

export const localIssuer = (port: number, host = '127.0.0.1') => `http://${host}:${port}`;

/**
 * What a launcher (scripts/up.ts) needs to point the Temporal Web UI and the API at the
 * development provider, with the files made if missing. Secrets are returned, not printed.
 */
export function developmentIdentity(options: { dataDir: string; port?: number }) {
  const files = ensureIdentityFiles(options.dataDir);
  return {
    issuer: localIssuer(options.port ?? DEFAULT_IDP_PORT),
    clientId: UI_CLIENT_ID,
    clientSecret: files.uiClientSecret,
    usersFile: files.usersFile,
    audience: DEFAULT_AUDIENCE,
    roleClaim: DEFAULT_ROLE_CLAIM,
  };
}
