import { Runtime, type Logger } from '@temporalio/worker';

const silent = () => undefined;
/** A logger that says nothing: for the SDK's runtime and the workflow bundler in tests. */
export const silentLogger: Logger = {
  log: silent,
  trace: silent,
  debug: silent,
  info: silent,
  warn: silent,
  error: silent,
};

let installed = false;

/** Test output shows test results; the SDK's own worker chatter stays out of it. */
export function installQuietRuntime(): void {
  if (installed) return;
  installed = true;
  Runtime.install({
    logger: silentLogger,
    // No log forwarding: its native callback would keep Jest's worker processes alive after the tests.
    telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } },
  });
}
