/**
 * Go-built tools of the stack (the Temporal CLI, the UI server, the Temporal server and its schema
 * tool): found in the user's cache directory, keyed by version, or built there once with
 * `go install` from the Go module proxy, so a fresh clone reuses what the machine built before.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';

export function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

export function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, name))) return path.join(dir, name);
  }
  return null;
}

export function findGo(): string | null {
  return onPath('go') ?? (isExecutable('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : null);
}

/** `~/.cache/reform-pilots/<tool>` (or under XDG_CACHE_HOME). */
export function toolCacheDir(tool: string): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'reform-pilots', tool);
}

const goEnv = (gobin?: string): NodeJS.ProcessEnv => ({
  ...process.env,
  ...(gobin ? { GOBIN: gobin } : {}),
  // A module's own go.mod decides its dependencies, whatever directory we run in.
  GOFLAGS: process.env.GOFLAGS ?? '-mod=mod',
});

/**
 * `go install <package>@<version>` into `gobin`; true when `binary` is there afterwards. The
 * build's own output goes to the terminal (it takes minutes on 2 cores the first time).
 */
export function goInstall(go: string, pkg: string, version: string, gobin: string, binary: string): boolean {
  fs.mkdirSync(gobin, { recursive: true });
  const result = spawnSync(go, ['install', `${pkg}@${version}`], {
    env: goEnv(gobin),
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return result.status === 0 && isExecutable(path.join(gobin, binary));
}

const ModuleDownload = z.object({ Dir: z.string().min(1) });

/**
 * Where a module's source is in the Go module cache (downloaded if missing): files it ships,
 * such as the Temporal server's SQL schemas, are read from there, at the version that was built.
 */
export function goModuleDir(go: string, module: string, version: string): string {
  const result = spawnSync(go, ['mod', 'download', '-json', `${module}@${version}`], {
    env: goEnv(),
    encoding: 'utf8',
    cwd: os.tmpdir(),
  });
  if (result.status !== 0) {
    throw new Error(`go mod download ${module}@${version} failed: ${(result.stderr || result.stdout).trim()}`);
  }
  return ModuleDownload.parse(JSON.parse(result.stdout)).Dir;
}
