/**
 * A real Temporal cluster on PostgreSQL: the Temporal server v1.29.1 (the release the CLI v1.5.1
 * embeds), built from source with `go install` and cached like the CLI, its services each in a
 * process of its own (history, matching, frontend, internal-frontend, worker), persistence and SQL
 * visibility in two PostgreSQL databases whose schemas the server's own schema tool applies from
 * the module's `schema/postgresql/v12`.
 *
 *   resolveTemporalServer()   the `server` and `sql` binaries and the schema directory
 *   prepareClusterDatabases() creates the databases, sets up and upgrades both schemas (idempotent)
 *   writeClusterConfig()      the server's configuration (one file all services read)
 *   startClusterService()     one service as a process (scripts/up.ts starts and supervises them)
 *
 * The public frontend speaks TLS and checks every call: the default JWT claim mapper reads the
 * `permissions` claim of the bearer token, verified against the identity provider's keys, and the
 * default authorizer allows by namespace and role. The server's own system worker talks to the
 * internal-frontend, which trusts cluster members instead (Temporal's design for authorization).
 *
 * Run directly (`npx tsx scripts/temporal-cluster.ts`) it provisions the binaries and prints them.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { type Connection, isGrpcServiceError } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { findGo, goInstall, goModuleDir, isExecutable, toolCacheDir } from './go-tools';
import { waitForTemporal } from './temporal-server';
import { toYaml, type Yaml } from './yaml';

export const TEMPORAL_SERVER_VERSION = 'v1.29.1';
/** gRPC status 6: what RegisterNamespace answers for a namespace that is there. */
const GRPC_ALREADY_EXISTS = 6;
const SERVER_MODULE = 'go.temporal.io/server';

export interface TemporalServerBinaries {
  server: string;
  sqlTool: string;
  /** `…/schema/postgresql/v12`, holding `temporal/versioned` and `visibility/versioned`. */
  schemaDir: string;
  source: string;
}

/**
 * TEMPORAL_SERVER_PATH + TEMPORAL_SQL_TOOL_PATH + TEMPORAL_SCHEMA_DIR when set (a machine with its
 * own build); else the cached build, made with `go install` the first time (minutes on 2 cores).
 */
export function resolveTemporalServer(log: (line: string) => void = (l) => console.error(l)): TemporalServerBinaries {
  const fromEnv = [
    process.env.TEMPORAL_SERVER_PATH,
    process.env.TEMPORAL_SQL_TOOL_PATH,
    process.env.TEMPORAL_SCHEMA_DIR,
  ];
  if (fromEnv.some(Boolean)) {
    const [server, sqlTool, schemaDir] = fromEnv;
    if (!server || !sqlTool || !schemaDir) {
      throw new Error('set all of TEMPORAL_SERVER_PATH, TEMPORAL_SQL_TOOL_PATH and TEMPORAL_SCHEMA_DIR, or none');
    }
    for (const binary of [server, sqlTool]) {
      if (!isExecutable(binary)) throw new Error(`${binary} is not an executable file`);
    }
    return { server, sqlTool, schemaDir, source: 'TEMPORAL_SERVER_PATH' };
  }
  const go = findGo();
  const gobin = path.join(toolCacheDir('temporal-server'), TEMPORAL_SERVER_VERSION);
  const server = path.join(gobin, 'server');
  const sqlTool = path.join(gobin, 'sql');
  let source = `cached build ${TEMPORAL_SERVER_VERSION}`;
  if (!isExecutable(server) || !isExecutable(sqlTool)) {
    if (!go)
      throw new Error(`no Temporal server: install Go (≥ 1.25) to build ${SERVER_MODULE}@${TEMPORAL_SERVER_VERSION}`);
    for (const [pkg, binary] of [
      ['cmd/server', 'server'],
      ['cmd/tools/sql', 'sql'],
    ] as const) {
      const began = Date.now();
      log(`building the Temporal server's ${pkg} ${TEMPORAL_SERVER_VERSION} into ${gobin} (minutes the first time)...`);
      if (!goInstall(go, `${SERVER_MODULE}/${pkg}`, TEMPORAL_SERVER_VERSION, gobin, binary)) {
        throw new Error(`go install ${SERVER_MODULE}/${pkg}@${TEMPORAL_SERVER_VERSION} failed`);
      }
      log(`  built ${binary} in ${((Date.now() - began) / 1000).toFixed(0)} s`);
    }
    source = `go install ${TEMPORAL_SERVER_VERSION}`;
  }
  if (!go) throw new Error('the Temporal server schemas are read from the Go module cache: install Go');
  const schemaDir = path.join(goModuleDir(go, SERVER_MODULE, TEMPORAL_SERVER_VERSION), 'schema', 'postgresql', 'v12');
  return { server, sqlTool, schemaDir, source };
}

export interface PostgresEndpoint {
  host: string;
  port: number;
  user: string;
  password: string;
}

/** The host, port and credentials of a postgresql:// URL (the database in it is not used). */
export function postgresEndpoint(url: string): PostgresEndpoint {
  const parsed = new URL(url);
  return {
    host: parsed.hostname || '127.0.0.1',
    port: Number(parsed.port || 5432),
    user: decodeURIComponent(parsed.username || 'postgres'),
    password: decodeURIComponent(parsed.password),
  };
}

export interface ClusterDatabases {
  /** Persistence: histories, mutable state, task queues (`temporal`). */
  main: string;
  /** SQL visibility: what List/Count with search attributes read (`temporal_visibility`). */
  visibility: string;
}

/**
 * One run of the schema tool. In a process group of its own, so a Ctrl-C at the terminal does not
 * cut an upgrade in half (its statements are not one transaction): it finishes, then the stack
 * stops. The password goes through the environment, not the command line (ps shows arguments).
 */
function sqlTool(
  binaries: TemporalServerBinaries,
  postgres: PostgresEndpoint,
  database: string,
  args: string[],
): Promise<{ ok: boolean; output: string }> {
  const child = spawn(
    binaries.sqlTool,
    ['--plugin', 'postgres12', '--ep', postgres.host, '-p', String(postgres.port), '--db', database, ...args],
    {
      env: { ...process.env, SQL_USER: postgres.user, SQL_PASSWORD: postgres.password },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  );
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) => {
    child.once('error', (error) => resolve({ ok: false, output: error.message }));
    child.once('close', (code) => resolve({ ok: code === 0, output }));
  });
}

/**
 * Creates both databases when missing, sets up the schema-version tables once and brings each
 * schema to the newest version the server release ships (what `temporal-sql-tool update-schema`
 * does on every upgrade): safe to run at every start.
 */
export async function prepareClusterDatabases(
  binaries: TemporalServerBinaries,
  postgres: PostgresEndpoint,
  databases: ClusterDatabases,
  log: (line: string) => void,
): Promise<void> {
  for (const [database, schema] of [
    [databases.main, 'temporal'],
    [databases.visibility, 'visibility'],
  ] as const) {
    const created = await sqlTool(binaries, postgres, database, ['create-database']);
    if (!created.ok && !/already exists/i.test(created.output)) {
      throw new Error(`creating database ${database} failed: ${lastLines(created.output)}`);
    }
    // `setup-schema -v 0.0` refuses when the version tables exist: that is the database of an
    // earlier start, and the update below is all it needs.
    const setup = await sqlTool(binaries, postgres, database, ['setup-schema', '-v', '0.0']);
    if (!setup.ok && !/already exists/i.test(setup.output)) {
      throw new Error(`setting up the ${schema} schema in ${database} failed: ${lastLines(setup.output)}`);
    }
    const update = await sqlTool(binaries, postgres, database, [
      'update-schema',
      '-d',
      path.join(binaries.schemaDir, schema, 'versioned'),
    ]);
    if (!update.ok) throw new Error(`updating the ${schema} schema in ${database} failed: ${lastLines(update.output)}`);
    log(`  ${schema} schema in database ${database}: up to date`);
  }
}

function lastLines(text: string, n = 5): string {
  return text.trim().split('\n').slice(-n).join('\n');
}

export const CLUSTER_SERVICES = ['history', 'matching', 'frontend', 'internal-frontend', 'worker'] as const;
export type ClusterService = (typeof CLUSTER_SERVICES)[number];

export interface ServicePorts {
  grpc: number;
  membership: number;
  /** The frontends' HTTP API. */
  http?: number;
}

/** Temporal's own defaults (the ports its docs and tools assume), used where free. */
const STANDARD_PORTS: Record<ClusterService, ServicePorts> = {
  frontend: { grpc: 7233, membership: 6933, http: 7243 },
  history: { grpc: 7234, membership: 6934 },
  matching: { grpc: 7235, membership: 6935 },
  // No HTTP API on the internal-frontend: it authorizes nobody (cluster members only reach it).
  'internal-frontend': { grpc: 7236, membership: 6936 },
  worker: { grpc: 7239, membership: 6939 },
};

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A free port below 32768, outside the range the system hands out for outgoing connections, so
 * nothing takes it between now and the moment a server binds it.
 */
export async function freeFixedPort(taken: Set<number> = new Set()): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (!taken.has(port) && (await bindable(port))) {
      taken.add(port);
      return port;
    }
  }
}

/**
 * The services' ports: Temporal's standard ones where free, else free ones below 32768 (the
 * membership table stores a port as a SMALLINT: an ephemeral port above it stops the service).
 * `frontend` fixes the public gRPC port.
 */
export async function clusterPorts(options: { frontend?: number } = {}) {
  const taken = new Set<number>();
  const pick = async (wanted: number): Promise<number> => {
    if (!taken.has(wanted) && (await bindable(wanted))) {
      taken.add(wanted);
      return wanted;
    }
    return freeFixedPort(taken);
  };
  const ports = {} as Record<ClusterService, ServicePorts>;
  for (const service of CLUSTER_SERVICES) {
    const wanted = STANDARD_PORTS[service];
    ports[service] = {
      grpc: await pick(service === 'frontend' && options.frontend ? options.frontend : wanted.grpc),
      membership: await pick(wanted.membership),
      ...(wanted.http ? { http: await pick(wanted.http) } : {}),
    };
  }
  if (options.frontend && ports.frontend.grpc !== options.frontend) {
    throw new Error(`port ${options.frontend} (the Temporal frontend) is taken`);
  }
  return ports;
}

export interface ClusterCertificates {
  /** The development CA that signed the frontend's certificate: what clients trust. */
  caFile: string;
  certFile: string;
  keyFile: string;
  /** The name clients check the certificate against (it also holds IP 127.0.0.1). */
  serverName: string;
}

/**
 * The frontend's TLS certificate for this machine, signed by a development CA of the stack's own
 * (a self-signed leaf cannot be its own trust anchor for rustls, which the worker's connection
 * uses). Made once with openssl in `dir` (keys 0600), kept across starts.
 */
export function clusterCertificates(dir: string): ClusterCertificates {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const files = {
    caFile: path.join(dir, 'ca.pem'),
    caKey: path.join(dir, 'ca-key.pem'),
    certFile: path.join(dir, 'frontend.pem'),
    keyFile: path.join(dir, 'frontend-key.pem'),
    request: path.join(dir, 'frontend.csr'),
    extensions: path.join(dir, 'frontend.ext'),
  };
  if (![files.caFile, files.certFile, files.keyFile].every((file) => fs.existsSync(file))) {
    const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    openssl([
      'req',
      '-x509',
      ...ec,
      '-days',
      '825',
      '-subj',
      '/CN=reform-pilots development CA',
      '-keyout',
      files.caKey,
      '-out',
      files.caFile,
    ]);
    openssl(['req', '-new', ...ec, '-subj', '/CN=localhost', '-keyout', files.keyFile, '-out', files.request]);
    fs.writeFileSync(
      files.extensions,
      'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n',
    );
    openssl([
      'x509',
      '-req',
      '-in',
      files.request,
      '-CA',
      files.caFile,
      '-CAkey',
      files.caKey,
      '-CAcreateserial',
      '-days',
      '825',
      '-extfile',
      files.extensions,
      '-out',
      files.certFile,
    ]);
    for (const key of [files.caKey, files.keyFile]) fs.chmodSync(key, 0o600);
    fs.rmSync(files.request, { force: true });
  }
  return { caFile: files.caFile, certFile: files.certFile, keyFile: files.keyFile, serverName: 'localhost' };
}

/** What a client of this file's frontend passes as `tls` (@temporalio/client and worker). */
export const clientTls = (certificates: ClusterCertificates) => ({
  serverRootCACertificate: fs.readFileSync(certificates.caFile),
  serverNameOverride: certificates.serverName,
});

export interface ClusterConfigOptions {
  /** Where the configuration and logs go. */
  dir: string;
  postgres: PostgresEndpoint;
  databases: ClusterDatabases;
  ports: Record<ClusterService, ServicePorts>;
  /**
   * The identity provider's JWKS (e.g. http://127.0.0.1:3001/jwks): the public frontend requires
   * a bearer token for every call but health checks and GetSystemInfo.
   */
  jwksUri: string;
  /** The public frontend's certificate and key (clusterCertificates). */
  tls: { certFile: string; keyFile: string };
  /** Connections each service may hold to persistence and to visibility (default 10 and 2). */
  pools?: { main: number; visibility: number };
}

export interface ClusterConfig {
  root: string;
  configDir: string;
  env: string;
  file: string;
  frontendAddress: string;
}

/** Fixed for the cluster's lifetime: another number needs new databases. */
const NUM_HISTORY_SHARDS = 4;

/**
 * The server configuration (keys as in go.temporal.io/server/common/config): every service reads
 * the same file and starts only its own part of it.
 */
export function writeClusterConfig(options: ClusterConfigOptions): ClusterConfig {
  const env = 'cluster';
  const configDir = path.join(options.dir, 'config');
  fs.mkdirSync(configDir, { recursive: true });
  const pools = options.pools ?? { main: 10, visibility: 2 };
  const datastore = (databaseName: string, maxConns: number): Yaml => ({
    sql: {
      pluginName: 'postgres12',
      databaseName,
      connectAddr: `${options.postgres.host}:${options.postgres.port}`,
      connectProtocol: 'tcp',
      user: options.postgres.user,
      password: options.postgres.password,
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const rpc = (ports: ServicePorts): Yaml => ({
    rpc: {
      grpcPort: ports.grpc,
      membershipPort: ports.membership,
      bindOnIP: '127.0.0.1',
      ...(ports.http ? { httpPort: ports.http } : {}),
    },
  });
  const frontendAddress = `127.0.0.1:${options.ports.frontend.grpc}`;
  const config: Yaml = {
    log: { stdout: true, level: 'warn' },
    persistence: {
      defaultStore: 'postgres-default',
      visibilityStore: 'postgres-visibility',
      numHistoryShards: NUM_HISTORY_SHARDS,
      datastores: {
        'postgres-default': datastore(options.databases.main, pools.main),
        'postgres-visibility': datastore(options.databases.visibility, pools.visibility),
      },
    },
    global: {
      membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' },
      // TLS on the public frontend: tokens travel only encrypted. The internal-frontend and the
      // other services talk internode (plaintext on 127.0.0.1 here; mTLS in production).
      tls: { frontend: { server: { certFile: options.tls.certFile, keyFile: options.tls.keyFile } } },
      authorization: {
        jwtKeyProvider: { keySourceURIs: [options.jwksUri], refreshInterval: '1m' },
        permissionsClaimName: 'permissions',
        authorizer: 'default',
        claimMapper: 'default',
      },
    },
    services: Object.fromEntries(CLUSTER_SERVICES.map((service) => [service, rpc(options.ports[service])])),
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: {
          enabled: true,
          initialFailoverVersion: 1,
          rpcName: 'frontend',
          rpcAddress: frontendAddress,
          httpAddress: `127.0.0.1:${options.ports.frontend.http ?? 0}`,
        },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    dynamicConfigClient: { filepath: path.join(configDir, 'dynamic.yaml'), pollInterval: '10s' },
  };
  const file = path.join(configDir, `${env}.yaml`);
  // The database password is in it.
  fs.writeFileSync(
    file,
    `# Temporal server ${TEMPORAL_SERVER_VERSION}: written by scripts/temporal-cluster.ts\n${toYaml(config)}`,
    {
      mode: 0o600,
    },
  );
  fs.chmodSync(file, 0o600);
  const dynamic: Yaml = {
    // Search attributes registered at start are usable at once, not after the cache's minute.
    'system.forceSearchAttributesCacheRefreshOnRead': [{ value: true, constraints: {} }],
    // A namespace registered at start is known to every service within a second or two.
    'system.namespaceCacheRefreshInterval': [{ value: '2s', constraints: {} }],
  };
  fs.writeFileSync(path.join(configDir, 'dynamic.yaml'), toYaml(dynamic));
  return { root: options.dir, configDir, env, file, frontendAddress };
}

/** One service of the cluster as a process of its own, its output in `<dir>/<service>.log`. */
export function startClusterService(
  binaries: TemporalServerBinaries,
  config: ClusterConfig,
  service: ClusterService,
  options: { logDir: string; detached?: boolean },
): ChildProcess {
  const log = fs.openSync(path.join(options.logDir, `temporal-${service}.log`), 'a');
  const child = spawn(
    binaries.server,
    [
      '--root',
      config.root,
      '--config',
      path.relative(config.root, config.configDir),
      '--env',
      config.env,
      'start',
      '--service',
      service,
    ],
    { stdio: ['ignore', log, log], detached: options.detached ?? false },
  );
  fs.closeSync(log);
  return child;
}

/** Until the frontend answers (GetSystemInfo needs no token), 90 s at most. */
export const waitForFrontend = (address: string, isDown: () => boolean, tls: ClusterCertificates) =>
  waitForTemporal(address, {
    timeoutMs: 90_000,
    tls: clientTls(tls),
    isDown: () => (isDown() ? 'a Temporal service exited while the cluster came up' : null),
  });

/**
 * Registers the namespace, or sets the retention of the one there; returns once the frontend
 * knows it (its registry refreshes every couple of seconds: dynamic config above).
 */
export async function ensureNamespace(
  connection: Pick<Connection, 'workflowService'>,
  namespace: string,
  retentionDays: number,
  timeoutMs = 60_000,
): Promise<void> {
  const workflowExecutionRetentionPeriod = msToTs(`${retentionDays} days`);
  try {
    await connection.workflowService.registerNamespace({
      namespace,
      workflowExecutionRetentionPeriod,
      description: '地方科协改革试点 / Reform pilots',
    });
  } catch (error) {
    if (!isGrpcServiceError(error) || error.code !== GRPC_ALREADY_EXISTS) throw error;
    await connection.workflowService.updateNamespace({
      namespace,
      config: { workflowExecutionRetentionTtl: workflowExecutionRetentionPeriod },
    });
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      // Reads through the registry every service uses: a start would find the namespace too.
      await connection.workflowService.listWorkflowExecutions({ namespace, pageSize: 1 });
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

if (require.main === module) {
  const binaries = resolveTemporalServer();
  console.log(
    `Temporal server ${TEMPORAL_SERVER_VERSION}: ${binaries.server}, schema tool ${binaries.sqlTool} (${binaries.source}); schemas ${binaries.schemaDir}`,
  );
}
