/**
 * Pid files under `<data>/pids/`: what `up.ts` has running, so that a start after `up.ts` was
 * killed outright (kill -9, a closed terminal) finds what that run left behind and stops it, in
 * the same order as a clean stop, instead of failing on taken ports or a locked data directory.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface PidRecord {
  name: string;
  pid: number;
  /** A piece of the process's command line, checked before a signal so a reused pid is left alone. */
  marker: string;
}

export interface Leftover extends PidRecord {
  commandLine: string;
}

const dir = (dataDir: string) => path.join(dataDir, 'pids');
const file = (dataDir: string, name: string) => path.join(dir(dataDir), `${name}.json`);

export function recordPid(dataDir: string, record: PidRecord): void {
  fs.mkdirSync(dir(dataDir), { recursive: true });
  fs.writeFileSync(file(dataDir, record.name), `${JSON.stringify(record)}\n`);
}

export function forgetPid(dataDir: string, name: string): void {
  fs.rmSync(file(dataDir, name), { force: true });
}

/** The command line of a live process, or null when there is none with that pid. */
export function commandLine(pid: number): string | null {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: alive but another user's, so not one of ours.
    return (error as NodeJS.ErrnoException).code === 'EPERM' ? '' : null;
  }
  try {
    const state = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // A zombie has exited; it is only waiting for its parent to collect it.
    if (/\) Z /.test(state)) return null;
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    // No /proc (macOS): trust the pid file.
    return '?';
  }
}

/** Processes recorded by an earlier run that are still alive and still what was recorded. */
export function findLeftovers(dataDir: string, names: string[]): Leftover[] {
  const found: Leftover[] = [];
  for (const name of names) {
    let record: PidRecord;
    try {
      record = JSON.parse(fs.readFileSync(file(dataDir, name), 'utf8')) as PidRecord;
    } catch {
      continue;
    }
    const line = commandLine(record.pid);
    if (line !== null && (line === '?' || line.includes(record.marker))) found.push({ ...record, commandLine: line });
    else forgetPid(dataDir, name);
  }
  return found;
}

export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (commandLine(pid) !== null) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

/** Stops one leftover as a clean stop would (`signal`), then with SIGKILL if it does not exit in time. */
export async function stopLeftover(
  leftover: Leftover,
  signal: NodeJS.Signals,
  timeoutMs: number,
): Promise<'stopped' | 'killed'> {
  try {
    process.kill(leftover.pid, signal);
  } catch {
    return 'stopped';
  }
  if (await waitForExit(leftover.pid, timeoutMs)) return 'stopped';
  try {
    process.kill(leftover.pid, 'SIGKILL');
  } catch {
    // Gone in the meantime.
  }
  await waitForExit(leftover.pid, 5000);
  return 'killed';
}
