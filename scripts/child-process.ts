import type { ChildProcess } from 'node:child_process';

/** A child that ended by a signal keeps `exitCode` null: both say it has gone. */
export const exited = (child: ChildProcess): boolean => child.exitCode !== null || child.signalCode !== null;

/**
 * Stops a child the way it stops cleanly (`signal`), with SIGKILL once `graceMs` has passed;
 * resolves once it has exited.
 */
export function stopChild(child: ChildProcess, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    if (exited(child)) return resolve();
    const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(killer);
      resolve();
    });
    child.kill(signal);
  });
}
