/**
 * Finds or builds the Temporal CLI (which carries the dev server and the Web UI), in this order:
 *   1. TEMPORAL_CLI_PATH
 *   2. `temporal` on PATH
 *   3. a cached build in the user's cache directory, keyed by version (a fresh clone reuses it)
 *   4. `go install github.com/temporalio/cli/cmd/temporal@<version>` into that cache
 *      (v1.5.1, then its neighbours without replace directives)
 *   5. the SDK's own download of the CLI (only with internet)
 * Run directly (`npm run temporal:provision`) it prints what it found.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const TEMPORAL_CLI_VERSIONS = ['v1.5.1', 'v1.5.0', 'v1.4.1'] as const;

export type TemporalCli = { kind: 'path'; path: string; source: string } | { kind: 'sdk-download'; source: string };

export function cacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'reform-pilots', 'temporal-cli');
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, name))) return path.join(dir, name);
  }
  return null;
}

function goInstall(version: string, log: (line: string) => void): string | null {
  const go = onPath('go') ?? (isExecutable('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : null);
  if (!go) {
    log('no Go toolchain found; cannot build the Temporal CLI');
    return null;
  }
  const gobin = path.join(cacheDir(), version);
  fs.mkdirSync(gobin, { recursive: true });
  log(`building the Temporal CLI ${version} with ${go} into ${gobin} (takes minutes on 2 cores)...`);
  const result = spawnSync(go, ['install', `github.com/temporalio/cli/cmd/temporal@${version}`], {
    env: { ...process.env, GOBIN: gobin, GOFLAGS: process.env.GOFLAGS ?? '-mod=mod' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const binary = path.join(gobin, 'temporal');
  if (result.status === 0 && isExecutable(binary)) return binary;
  log(`go install of ${version} failed (exit ${result.status ?? result.signal})`);
  return null;
}

export function resolveTemporalCli(log: (line: string) => void = (l) => console.error(l)): TemporalCli {
  const fromEnv = process.env.TEMPORAL_CLI_PATH;
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new Error(`TEMPORAL_CLI_PATH=${fromEnv} is not an executable file`);
    return { kind: 'path', path: path.resolve(fromEnv), source: 'TEMPORAL_CLI_PATH' };
  }
  const found = onPath('temporal');
  if (found) return { kind: 'path', path: found, source: 'temporal on PATH' };
  for (const version of TEMPORAL_CLI_VERSIONS) {
    const cached = path.join(cacheDir(), version, 'temporal');
    if (isExecutable(cached)) return { kind: 'path', path: cached, source: `cached build ${version}` };
  }
  for (const version of TEMPORAL_CLI_VERSIONS) {
    const built = goInstall(version, log);
    if (built) return { kind: 'path', path: built, source: `go install ${version}` };
  }
  return { kind: 'sdk-download', source: "the Temporal SDK's download (needs internet)" };
}

export function describeCli(cli: TemporalCli): string {
  if (cli.kind === 'sdk-download') return `Temporal CLI: ${cli.source}`;
  const version = execFileSync(cli.path, ['--version'], { encoding: 'utf8' }).trim();
  return `Temporal CLI: ${cli.path} (${version}) from ${cli.source}`;
}

if (require.main === module) {
  const cli = resolveTemporalCli();
  console.log(describeCli(cli));
}
