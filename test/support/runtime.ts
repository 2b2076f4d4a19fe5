import { Runtime, type Logger } from '@temporalio/worker';

let installed = false;

/** Test output shows test results; the SDK's own worker chatter stays out of it. */
export function installQuietRuntime(): void {
  if (installed) return;
  installed = true;
  const silent = () => undefined;
  const logger: Logger = { log: silent, trace: silent, debug: silent, info: silent, warn: silent, error: silent };
  Runtime.install({
    logger,
    // No log forwarding: its native callback would keep Jest's worker processes alive after the tests.
    telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } },
  });
}
