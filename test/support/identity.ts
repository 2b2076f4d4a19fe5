import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Role } from '../../domain/pilot';
import {
  DEFAULT_AUDIENCE,
  DEFAULT_ROLE_CLAIM,
  ensureIdentityFiles,
  localIssuer,
  OPERATOR_CLIENT_ID,
  SERVICE_CLIENT_ID,
  UI_CLIENT_ID,
} from '../../lib/identity/files';
import { exited, stopChild } from '../../scripts/child-process';
import { freePort } from '../../scripts/temporal-server';
import { ROOT } from './environment';

/**
 * The development identity provider as the stack runs it (`scripts/identity-provider.ts`), on a
 * free port with a data directory of its own; `tokenFor` signs in as a user the way a browser
 * behind the Temporal UI server would (authorization request with PKCE, the login form, the code
 * at the token endpoint), so every token a test uses went through the provider's real flow.
 *
 * A child process, not this one: under Jest, test code runs in a vm context of its own, and
 * oidc-provider (loaded in Node's main context, being an ES module) refuses configuration
 * objects from another context (its plain-object check compares constructors).
 */
export interface RunningIdentityProvider {
  issuer: string;
  audience: string;
  roleClaim: string;
  dataDir: string;
  users: Record<Role, { username: string; password: string }>;
  uiClient: { clientId: string; clientSecret: string; redirectUri: string };
  /** The service accounts (client credentials) and where they get their tokens. */
  serviceClient: { clientId: string; clientSecret: string };
  operatorClient: { clientId: string; clientSecret: string };
  tokenUrl: string;
  /** The namespace the tokens' `permissions` claim names. */
  temporalNamespace: string;
  /** Everything the provider wrote to stdout and stderr so far (its JSON log lines). */
  logs(): string;
  tokenFor(role: Role): Promise<string>;
  /** The whole outcome of a sign-in with these credentials, ID token included. */
  signIn(username: string, password: string): Promise<SignInResult>;
  stop(): Promise<void>;
}

export type SignInResult =
  { ok: true; accessToken: string; idToken: string; tokenType: string } | { ok: false; status: number; body: string };

/** Cookies by name, as a browser would send them back to this one origin. */
class CookieJar {
  private readonly cookies = new Map<string, string>();
  store(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';');
      const at = pair.indexOf('=');
      const name = pair.slice(0, at).trim();
      const value = pair.slice(at + 1).trim();
      const expired = attributes.some((a) => /^\s*expires=Thu, 01 Jan 1970/i.test(a)) || value === '';
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

const LISTENING = '"msg":"identity provider listening (development)"';
const START_TIMEOUT_MS = 30_000;

/** Started and not yet stopped: SIGKILLed if the test process exits without stopping them. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export async function startIdentityProvider(
  options: {
    uiRedirectUris?: string[];
    /** Seconds; short ones let a test watch a token being renewed (default the provider's hour). */
    accessTokenTtl?: number;
    temporalNamespace?: string;
  } = {},
): Promise<RunningIdentityProvider> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'idp-'));
  const uiRedirectUris = options.uiRedirectUris ?? ['http://127.0.0.1:8233/auth/sso/callback'];
  const redirectUri = uiRedirectUris[0]!;
  // Made here (as up.ts does), so users and the client secret are known before the provider runs.
  const files = ensureIdentityFiles(dataDir);
  const port = await freePort();
  const issuer = localIssuer(port);
  const audience = DEFAULT_AUDIENCE;
  const roleClaim = DEFAULT_ROLE_CLAIM;
  const temporalNamespace = options.temporalNamespace ?? 'default';

  const child = spawn(process.execPath, ['--import', 'tsx', path.join('scripts', 'identity-provider.ts')], {
    cwd: ROOT,
    env: {
      ...process.env,
      IDP_PORT: String(port),
      DATA_DIR: dataDir,
      IDP_UI_REDIRECT_URIS: uiRedirectUris.join(','),
      OIDC_AUDIENCE: audience,
      OIDC_ROLE_CLAIM: roleClaim,
      // Set either way, so a value in the test's own environment does not leak in.
      TEMPORAL_NAMESPACE: temporalNamespace,
      IDP_ACCESS_TOKEN_TTL_SECONDS: options.accessTokenTtl === undefined ? '' : String(options.accessTokenTtl),
      LOG_LEVEL: 'debug',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.once('exit', () => running.delete(child));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`not listening within ${START_TIMEOUT_MS} ms`)),
        START_TIMEOUT_MS,
      );
      const check = setInterval(() => {
        if (output.includes(LISTENING)) done();
        else if (exited(child)) done(new Error(`exited (${child.exitCode ?? child.signalCode})`));
      }, 50);
      const done = (error?: Error) => {
        clearTimeout(timer);
        clearInterval(check);
        if (error) reject(error);
        else resolve();
      };
    });
  } catch (error) {
    child.kill('SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
    throw new Error(`identity provider: ${(error as Error).message}\n--- its output ---\n${output}`);
  }

  const users = Object.fromEntries(
    files.users.map((u) => [u.role, { username: u.username, password: u.password }]),
  ) as Record<Role, { username: string; password: string }>;
  const idp = { uiClient: { clientId: UI_CLIENT_ID, clientSecret: files.uiClientSecret } };

  const signIn = (username: string, password: string) =>
    signInAt({ issuer, uiClient: idp.uiClient, redirectUri, username, password });

  return {
    issuer,
    audience,
    roleClaim,
    dataDir,
    users,
    uiClient: { ...idp.uiClient, redirectUri },
    serviceClient: { clientId: SERVICE_CLIENT_ID, clientSecret: files.serviceClientSecret },
    operatorClient: { clientId: OPERATOR_CLIENT_ID, clientSecret: files.operatorClientSecret },
    tokenUrl: `${issuer}/token`,
    temporalNamespace,
    logs: () => output,
    signIn,
    async tokenFor(role) {
      const result = await signIn(users[role].username, users[role].password);
      if (!result.ok) throw new Error(`signing in as ${role} failed: ${result.status} ${result.body.slice(0, 300)}`);
      return result.accessToken;
    },
    /** SIGTERM, as up.ts stops it; an exit other than 0 (or a SIGKILL after 10 s) fails the caller. */
    async stop() {
      await stopChild(child, 'SIGTERM', 10_000);
      fs.rmSync(dataDir, { recursive: true, force: true });
      if (child.exitCode !== 0)
        throw new Error(`identity provider stopped with ${child.exitCode ?? child.signalCode}\n${output}`);
    },
  };
}

/**
 * A person's sign-in as the Web UI does it (authorization code with PKCE, the login form, the
 * code exchanged by the UI's confidential client), against any running development provider.
 */
export async function signInAt(options: {
  issuer: string;
  uiClient: { clientId: string; clientSecret: string };
  redirectUri: string;
  username: string;
  password: string;
}): Promise<SignInResult> {
  const { issuer, redirectUri, username, password } = options;
  const idp = { uiClient: options.uiClient };
  const jar = new CookieJar();
  const get = async (url: string) => {
    const response = await fetch(new URL(url, issuer), { redirect: 'manual', headers: { cookie: jar.header() } });
    jar.store(response);
    return response;
  };
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(16).toString('base64url');
  const authorize = new URL('/auth', issuer);
  authorize.search = new URLSearchParams({
    client_id: idp.uiClient.clientId,
    response_type: 'code',
    redirect_uri: redirectUri,
    scope: 'openid profile email',
    state,
    nonce: randomBytes(16).toString('base64url'),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();

  // To the login page (authorization → interaction).
  let response = await get(authorize.href);
  while (response.status >= 300 && response.status < 400 && !location(response).startsWith(redirectUri)) {
    response = await get(location(response));
  }
  const page = await response.text();
  const action = /<form method="post" action="([^"]+)"/.exec(page)?.[1];
  if (!action) return { ok: false, status: response.status, body: page };

  response = await fetch(new URL(action, issuer), {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username, password }).toString(),
  });
  jar.store(response);
  // On through the resumed authorization (and the automatic consent) to the client's callback.
  for (let hops = 0; hops < 10 && response.status >= 300 && response.status < 400; hops++) {
    if (location(response).startsWith(redirectUri)) break;
    response = await get(location(response));
  }
  if (!(response.status >= 300 && response.status < 400)) {
    return { ok: false, status: response.status, body: await response.text() };
  }
  const callback = new URL(location(response), issuer);
  const code = callback.searchParams.get('code');
  if (!code || callback.searchParams.get('state') !== state) {
    return { ok: false, status: response.status, body: callback.search };
  }

  const token = await fetch(new URL('/token', issuer), {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(idp.uiClient.clientId)}:${encodeURIComponent(idp.uiClient.clientSecret)}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      code_verifier: verifier,
    }).toString(),
  });
  const body = await token.text();
  if (!token.ok) return { ok: false, status: token.status, body };
  const json = JSON.parse(body) as { access_token: string; id_token: string; token_type: string };
  return { ok: true, accessToken: json.access_token, idToken: json.id_token, tokenType: json.token_type };
}

function location(response: Response): string {
  const value = response.headers.get('location');
  if (!value) throw new Error(`a redirect without Location (${response.status})`);
  return value;
}
