/**
 * The Temporal UI server (github.com/temporalio/ui-server), the Web UI auditors sign in to with
 * single sign-on, read-only. Found or built like the Temporal CLI (scripts/temporal-cli.ts):
 *   1. TEMPORAL_UI_SERVER_PATH
 *   2. a cached build in the user's cache directory (`~/.cache/reform-pilots/temporal-ui/<version>/server`)
 *   3. `go install github.com/temporalio/ui-server/v2/cmd/server@<version>` into that cache
 * Run directly (`npx tsx scripts/temporal-ui.ts`, `npm run temporal:provision-ui`) it provisions
 * the server and prints what it found: `scripts/test.sh` does so, so a new machine builds it once.
 *
 * `writeUiConfig` writes its configuration (one YAML file, with the OIDC client secret: mode 0600)
 * and `startUiServer` starts it and waits until it answers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { exited, stopChild } from './child-process';
import { findGo, goInstall, isExecutable, toolCacheDir } from './go-tools';
import { toYaml, type Yaml } from './yaml';

export const TEMPORAL_UI_VERSION = 'v2.42.1';
const MODULE = 'github.com/temporalio/ui-server/v2/cmd/server';

export function uiCacheDir(): string {
  return toolCacheDir('temporal-ui');
}

export interface UiServerBinary {
  path: string;
  source: string;
}

/** The UI server binary; builds it (minutes on 2 cores the first time) when none is found. */
export function resolveUiServer(log: (line: string) => void = (l) => console.error(l)): UiServerBinary {
  const fromEnv = process.env.TEMPORAL_UI_SERVER_PATH;
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new Error(`TEMPORAL_UI_SERVER_PATH=${fromEnv} is not an executable file`);
    return { path: path.resolve(fromEnv), source: 'TEMPORAL_UI_SERVER_PATH' };
  }
  const gobin = path.join(uiCacheDir(), TEMPORAL_UI_VERSION);
  const cached = path.join(gobin, 'server');
  if (isExecutable(cached)) return { path: cached, source: `cached build ${TEMPORAL_UI_VERSION}` };
  const go = findGo();
  if (!go) {
    throw new Error(
      `no Temporal UI server: install Go (≥ 1.25) so it can be built, or set TEMPORAL_UI_SERVER_PATH (${MODULE}@${TEMPORAL_UI_VERSION})`,
    );
  }
  log(
    `building the Temporal UI server ${TEMPORAL_UI_VERSION} with ${go} into ${gobin} (a few minutes the first time)...`,
  );
  if (goInstall(go, MODULE, TEMPORAL_UI_VERSION, gobin, 'server')) {
    return { path: cached, source: `go install ${TEMPORAL_UI_VERSION}` };
  }
  throw new Error(`go install ${MODULE}@${TEMPORAL_UI_VERSION} failed`);
}

export interface UiConfigOptions {
  /** Where the config goes: `<dir>/config/<env>.yaml`. */
  dir: string;
  env?: string;
  /** The Temporal frontend, host:port. */
  temporalAddress: string;
  /** TLS to the frontend: the CA that signed its certificate and the name to check it by. */
  temporalTls?: { caFile: string; serverName: string };
  /** The origin browsers use, e.g. http://127.0.0.1:8233 (its port is the one the server binds). */
  uiUrl: string;
  oidc: {
    /** The issuer: its /.well-known/openid-configuration is read at start. */
    issuer: string;
    clientId: string;
    clientSecret: string;
    label?: string;
    /**
     * Extra query parameters of the authorization request (ui-server's provider `options`), e.g.
     * `resource` for a provider that needs the API's resource indicator to issue its access token.
     */
    authorizationParams?: Record<string, string>;
  };
  /** The codec server, e.g. https://127.0.0.1:3443/codec (the UI passes the access token only to https). */
  codecEndpoint: string;
  hideLogs?: boolean;
}

export interface UiConfig {
  root: string;
  configDir: string;
  env: string;
  file: string;
  port: number;
}

/**
 * The UI server's configuration (keys as in ui-server's server/config/config.go): sign-in through
 * one OIDC provider, payloads decoded by our codec endpoint with the signed-in user's access token,
 * and every write action off — in the UI (disableWriteActions and each single switch) and in its
 * HTTP API (disableWriteActions answers 405 to every write but queries).
 */
export function writeUiConfig(options: UiConfigOptions): UiConfig {
  const env = options.env ?? 'reform-pilots';
  const ui = new URL(options.uiUrl);
  const port = Number(ui.port || (ui.protocol === 'https:' ? 443 : 80));
  const configDir = path.join(options.dir, 'config');
  fs.mkdirSync(configDir, { recursive: true });
  const config: Yaml = {
    temporalGrpcAddress: options.temporalAddress,
    ...(options.temporalTls
      ? {
          tls: {
            caFile: options.temporalTls.caFile,
            serverName: options.temporalTls.serverName,
            enableHostVerification: true,
          },
        }
      : {}),
    host: ui.hostname,
    port,
    publicPath: '',
    enableUi: true,
    defaultNamespace: 'default',
    notifyOnNewVersion: false,
    showTemporalSystemNamespace: false,
    hideLogs: options.hideLogs ?? false,
    // Read-only: the UI hides the controls, the HTTP API refuses the calls.
    disableWriteActions: true,
    workflowTerminateDisabled: true,
    workflowCancelDisabled: true,
    workflowSignalDisabled: true,
    workflowUpdateDisabled: true,
    workflowResetDisabled: true,
    batchActionsDisabled: true,
    startWorkflowDisabled: true,
    activityCommandsDisabled: true,
    cors: {
      allowOrigins: [ui.origin],
      unsafeAllowAllOrigins: false,
      // The CSRF cookie without `Secure` when the UI is served over plain http (development).
      cookieInsecure: ui.protocol === 'http:',
    },
    auth: {
      enabled: true,
      providers: [
        {
          label: options.oidc.label ?? 'Sign in (单点登录)',
          type: 'oidc',
          providerUrl: options.oidc.issuer,
          issuerUrl: options.oidc.issuer,
          clientId: options.oidc.clientId,
          clientSecret: options.oidc.clientSecret,
          scopes: ['openid', 'profile', 'email'],
          callbackUrl: `${ui.origin}/auth/sso/callback`,
          ...(options.oidc.authorizationParams && Object.keys(options.oidc.authorizationParams).length
            ? { options: options.oidc.authorizationParams }
            : {}),
        },
      ],
    },
    codec: {
      endpoint: options.codecEndpoint,
      // The browser sends `Authorization: Bearer <access token>` (and the ID token in
      // `Authorization-Extras`) to the codec endpoint — only when the endpoint is https.
      passAccessToken: true,
      includeCredentials: false,
      defaultErrorMessage: '载荷无法解密：需以审计员身份登录 / Payloads cannot be decoded: sign in as an auditor',
    },
  };
  const file = path.join(configDir, `${env}.yaml`);
  fs.writeFileSync(
    file,
    `# Temporal UI server ${TEMPORAL_UI_VERSION}: written by scripts/temporal-ui.ts\n${toYaml(config)}`,
    {
      mode: 0o600,
    },
  );
  fs.chmodSync(file, 0o600);
  return { root: options.dir, configDir: 'config', env, file, port };
}

export interface RunningUiServer {
  url: string;
  pid: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
    return response.ok;
  } catch {
    return false;
  }
}

/** Starts `server --root <dir> --config config --env <env> start` and waits for /healthz. */
export async function startUiServer(
  binary: UiServerBinary,
  config: UiConfig,
  options: { url: string; logFile: string; detached?: boolean; readyTimeoutMs?: number },
): Promise<RunningUiServer> {
  const log = fs.openSync(options.logFile, 'a');
  const child = spawn(
    binary.path,
    ['--root', config.root, '--config', config.configDir, '--env', config.env, 'start'],
    { stdio: ['ignore', log, log], detached: options.detached ?? false },
  );
  fs.closeSync(log);
  const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
  const health = `${options.url}/healthz`;
  while (!(await answers(health))) {
    if (exited(child)) {
      throw new Error(
        `the Temporal UI server exited (${child.exitCode ?? child.signalCode}); log: ${options.logFile}\n${tail(options.logFile)}`,
      );
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the Temporal UI server did not answer at ${health}; log: ${options.logFile}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url: options.url, pid: child.pid!, child, stop: () => stopChild(child, 'SIGTERM', 10_000) };
}

function tail(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-10).join('\n');
  } catch {
    return '';
  }
}

export function describeUiServer(binary: UiServerBinary): string {
  return `Temporal UI server ${TEMPORAL_UI_VERSION}: ${binary.path} from ${binary.source}`;
}

if (require.main === module) {
  console.log(describeUiServer(resolveUiServer()));
}
