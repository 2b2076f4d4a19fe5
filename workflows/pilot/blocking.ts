/**
 * The only module that blocks a pilot workflow (lint forbids `condition` anywhere else).
 *
 * Staff actions that drive the lifecycle answer once it has acted on them. The lifecycle tells
 * them so by settling every time it blocks: whatever has arrived by then has been acted on. A raw
 * wait that forgot to settle would leave such an Update unanswered for as long as the wait lasts
 * (months, for a report due date), so every wait goes through `blockUntil`.
 */
import { allHandlersFinished, condition, type TimerOptions } from '@temporalio/workflow';

/** Raised inside the workflow when staff end the pilot (withdrawal, integrity); never leaves it. */
export class PilotEnded extends Error {}

/** Waits until `ready()` or the timeout (ms); true when ready, false when the time ran out. */
export type Block = (ready: () => boolean, timeoutMs?: number, options?: TimerOptions) => Promise<boolean>;

export class Settling {
  private settled = 0;

  /** Everything that arrived so far has been acted on: the Updates waiting for that may answer. */
  settle(): void {
    this.settled += 1;
  }

  /** The lifecycle's way to wait: it settles first, then blocks. */
  readonly blockUntil: Block = (ready, timeoutMs, options) => {
    if (!ready()) this.settle();
    return wait(ready, timeoutMs, options);
  };

  /**
   * Waits that run beside the lifecycle (finance confirmations) do not speak for it: they block
   * without settling.
   */
  readonly blockBeside: Block = (ready, timeoutMs, options) => wait(ready, timeoutMs, options);

  /** A mark to compare with `afterSettled`. */
  mark(): number {
    return this.settled;
  }

  /** Resolves once the lifecycle has settled after `mark`: the Update's consequences are in state. */
  afterSettled(mark: number): Promise<void> {
    return condition(() => this.settled > mark);
  }

  /** The workflow may complete: no Update or query handler is still running. */
  handlersFinished(): Promise<void> {
    return condition(allHandlersFinished);
  }
}

function wait(ready: () => boolean, timeoutMs?: number, options?: TimerOptions): Promise<boolean> {
  return timeoutMs === undefined ? condition(ready).then(() => true) : condition(ready, timeoutMs, options ?? {});
}
