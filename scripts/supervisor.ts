/**
 * What `up.ts` runs, and how it goes down: every process it starts is registered here with the way
 * it stops, and `shutdown` stops them in the reverse order of their start. A process that exits
 * unexpectedly either stops the whole stack (the dev stack) or, with `restartExited` (cluster
 * mode), is started again, as an orchestrator restarts a pod: the cluster test kills workers, APIs
 * and Temporal services on purpose. Exiting more than RESTART_LIMIT times within a minute is a
 * fault to look at, not to paper over: the stack stops.
 */
import type { ChildProcess } from 'node:child_process';
import { stopChild } from './child-process';
import { forgetPid, recordPid } from './pid-files';

const RESTART_LIMIT = 5;

export interface Supervised {
  /** The process now running (a new one after each restart). */
  current(): ChildProcess;
}

export class Supervisor {
  private readonly stops: { name: string; stop: () => Promise<void> }[] = [];
  private stoppingNow = false;
  /** Cluster mode: a process that dies is started again. */
  restartExited = false;

  constructor(
    private readonly dataDir: string,
    private readonly say: (line: string) => void,
  ) {}

  get stopping(): boolean {
    return this.stoppingNow;
  }

  /** Startup steps give way to a stop requested meanwhile (Ctrl-C while the stack comes up). */
  checkNotStopping(): void {
    if (this.stoppingNow) throw new Error('stopping');
  }

  /** A step of the way down, run after those registered later. */
  onStop(name: string, stop: () => Promise<void>): void {
    this.stops.push({ name, stop });
  }

  /** Stops everything in reverse order, once (later calls return at once), then exits with `code`. */
  async shutdown(code: number): Promise<void> {
    if (this.stoppingNow) return;
    this.stoppingNow = true;
    this.say('stopping...');
    for (const { name, stop } of [...this.stops].reverse()) {
      await stop();
      this.say(`${name} stopped`);
    }
    forgetPid(this.dataDir, 'up');
    process.exit(code);
  }

  /** A child started elsewhere whose unexpected exit stops the stack (it is never restarted). */
  watch(name: string, child: ChildProcess): void {
    child.once('exit', (code, signal) => {
      if (!this.stoppingNow) {
        this.say(`${name} exited unexpectedly (${code ?? signal}); stopping the stack`);
        void this.shutdown(1);
      }
    });
  }

  /**
   * Starts a child with `start` and stops it on the way down (`signal`, SIGKILL after `graceMs`);
   * its pid file (`pidName`, checked against `marker` on the command line) follows each restart
   * and goes once it has stopped.
   */
  supervise(
    name: string,
    pidName: string,
    marker: string,
    start: () => ChildProcess,
    stop: { signal: NodeJS.Signals; graceMs: number },
  ): Supervised {
    this.checkNotStopping();
    const crashes: number[] = [];
    const fatal = (why: string) => {
      this.say(`${name} ${why}; stopping the stack`);
      void this.shutdown(1);
    };
    /** Started, recorded and watched; a process that cannot even be spawned stops the stack. */
    const launch = (): ChildProcess => {
      const started = start();
      started.once('error', (error) => {
        if (!this.stoppingNow) fatal(`could not be run (${error.message})`);
      });
      if (started.pid === undefined) return started;
      recordPid(this.dataDir, { name: pidName, pid: started.pid, marker });
      started.once('exit', onExit);
      return started;
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      if (this.stoppingNow) return;
      if (!this.restartExited) return fatal(`exited unexpectedly (${code ?? signal})`);
      const now = Date.now();
      crashes.push(now);
      while (crashes.length && crashes[0]! < now - 60_000) crashes.shift();
      if (crashes.length > RESTART_LIMIT) {
        return fatal(`exited ${crashes.length} times within a minute (last: ${code ?? signal})`);
      }
      const delay = 500 * 2 ** (crashes.length - 1);
      this.say(`${name} (pid ${child.pid}) exited (${code ?? signal}); starting it again in ${delay} ms`);
      setTimeout(() => {
        if (this.stoppingNow) return;
        try {
          child = launch();
          this.say(`${name} started again (pid ${child.pid})`);
        } catch (error) {
          fatal(`could not be started again (${(error as Error).message})`);
        }
      }, delay);
    };
    let child = launch();
    this.onStop(name, async () => {
      await stopChild(child, stop.signal, stop.graceMs);
      forgetPid(this.dataDir, pidName);
    });
    return { current: () => child };
  }
}
