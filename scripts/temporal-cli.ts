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
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { findGo, goInstall as goInstallTool, isExecutable, onPath, toolCacheDir } from './go-tools';

export const TEMPORAL_CLI_VERSIONS = ['v1.5.1', 'v1.5.0', 'v1.4.1'] as const;

export type TemporalCli = { kind: 'path'; path: string; source: string } | { kind: 'sdk-download'; source: string };

export function cacheDir(): string {
  return toolCacheDir('temporal-cli');
}

function goInstall(version: string, log: (line: string) => void): string | null {
  const go = findGo();
  if (!go) {
    log('no Go toolchain found; cannot build the Temporal CLI');
    return null;
  }
  const gobin = path.join(cacheDir(), version);
  log(`building the Temporal CLI ${version} with ${go} into ${gobin} (takes minutes on 2 cores)...`);
  if (goInstallTool(go, 'github.com/temporalio/cli/cmd/temporal', version, gobin, 'temporal')) {
    return path.join(gobin, 'temporal');
  }
  log(`go install of ${version} failed`);
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
