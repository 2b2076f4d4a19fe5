import {
  Client,
  Connection,
  defaultGrpcRetryOptions,
  makeGrpcRetryInterceptor,
  type ConnectionOptions,
} from '@temporalio/client';
import type { DataConverter, PayloadCodec } from '@temporalio/common';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { NativeConnection } from '@temporalio/worker';
import type { Logger } from './logger';
import {
  loadTemporalOAuthSettings,
  startTemporalTokenSource,
  type ApiKeySink,
  type TemporalOAuthSettings,
} from './temporal-token';

/**
 * Where Temporal is, from the standard environment (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
 * TEMPORAL_API_KEY, TEMPORAL_TLS_*, TEMPORAL_PROFILE, temporal.toml), so the same worker and API
 * run unchanged against the dev server, a self-hosted cluster or Temporal Cloud; and `oauth`, the
 * TEMPORAL_OAUTH_* settings (lib/temporal-token.ts) when the credentials are renewed tokens
 * rather than a static key.
 *
 * TLS: the SDK turns it on whenever an API key is given and `tls` is unset, and a renewed token
 * is given as an API key, so OAuth alone means TLS (production). `TEMPORAL_TLS=false` makes `tls`
 * `false`, which the SDK keeps off: a plaintext cluster on this machine.
 */
export function temporalSettings(env: NodeJS.ProcessEnv = process.env) {
  const { connectionOptions, namespace } = loadClientConnectConfig({
    profile: env.TEMPORAL_PROFILE,
    overrideEnvVars: Object.fromEntries(
      Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined),
    ),
  });
  const oauth = loadTemporalOAuthSettings(env);
  const staticAuthorization =
    Boolean(connectionOptions.apiKey) ||
    Object.keys(connectionOptions.metadata ?? {}).some((key) => key.toLowerCase() === 'authorization');
  if (oauth && staticAuthorization) {
    throw new Error(
      'Temporal credentials are set twice: a static TEMPORAL_API_KEY (or a profile api_key or authorization header) and TEMPORAL_OAUTH_*; set one of them',
    );
  }
  const address = connectionOptions.address ?? '127.0.0.1:7233';
  if (
    (oauth || staticAuthorization) &&
    connectionOptions.tls === false &&
    !isLoopbackHost(address.replace(/:\d+$/, ''))
  ) {
    throw new Error(
      `Temporal credentials would cross the network in plaintext to ${address}: TEMPORAL_TLS=false is for a Temporal on this machine only`,
    );
  }
  return {
    connectionOptions: { ...connectionOptions, address },
    namespace: namespace ?? 'default',
    oauth,
  };
}

/** A host on the loopback interface (127.0.0.0/8, [::1], localhost): where plaintext stays on this machine. */
export const isLoopbackHost = (host: string) => /^(127\.\d+\.\d+\.\d+|\[::1\]|localhost)$/.test(host);

export interface TemporalConnectOptions {
  env?: NodeJS.ProcessEnv;
  /** Where token renewals are logged (OAuth only). */
  logger?: Logger;
}

/** A connection and what ends it: the token renewals (if any), then the connection. */
export interface ClosableConnection<C> {
  connection: C;
  namespace: string;
  close(): Promise<void>;
}

/**
 * Connects with the static key of the settings, or with an OAuth token that is renewed on the
 * connection (`setApiKey`) until `close`. A connection that fails leaves no renewals behind.
 */
async function withCredentials<C extends ApiKeySink & { close(): Promise<void> }>(
  settings: { connectionOptions: { apiKey?: string }; namespace: string; oauth: TemporalOAuthSettings | null },
  logger: Logger | undefined,
  connect: (apiKey: string | undefined) => Promise<C>,
): Promise<ClosableConnection<C>> {
  const tokens = settings.oauth ? await startTemporalTokenSource(settings.oauth, { logger }) : null;
  try {
    const connection = await connect(tokens ? tokens.current() : settings.connectionOptions.apiKey);
    tokens?.attach(connection);
    return {
      connection,
      namespace: settings.namespace,
      close: async () => {
        tokens?.stop();
        await connection.close();
      },
    };
  } catch (error) {
    tokens?.stop();
    throw error;
  }
}

/** A plain client connection (launchers, probes) with the environment's credentials. */
export function connectConnection(options: TemporalConnectOptions = {}): Promise<ClosableConnection<Connection>> {
  const settings = temporalSettings(options.env);
  return withCredentials(settings, options.logger, (apiKey) =>
    Connection.connect({ ...settings.connectionOptions, apiKey }),
  );
}

/** Payloads pass through the codec (encryption) when keys are configured. */
export function dataConverterFor(codec: PayloadCodec | null): DataConverter | undefined {
  return codec ? { payloadCodecs: [codec] } : undefined;
}

/**
 * How long the API waits on Temporal. A request must not hang on a server that is away: the SDK's
 * default retries an unavailable server for ~20 s and gRPC's reconnect backoff grows to 2 min,
 * so a request waited 17–22 s for its 503 and the API needed up to 28 s to notice Temporal's
 * return. These bound both.
 */
export const API_TEMPORAL_TIMING = {
  /** Connecting at start. */
  connectTimeoutMs: 5000,
  /**
   * Retries of an UNAVAILABLE server (4 attempts at 100 ms × 1.7ⁿ ≈ 1 s in all), so that a request
   * to a Temporal that is down gets its 503 within 2 s, while a blip is still ridden out.
   */
  maxAttempts: 4,
  /**
   * Reconnect backoff: 250 ms doubling to at most 1 s (gRPC's default grows to 120 s), so the API
   * finds a returned server within about a second, however long it was away.
   */
  initialReconnectBackoffMs: 250,
  maxReconnectBackoffMs: 1000,
  /**
   * Deadline of each call a request makes (start, query, describe, history). A Temporal that is
   * *down* is found by the bounded retries above, in about a second; this only bounds what a
   * Temporal that is up but not answering (hung, a silent network) costs a request. It is generous
   * because a busy Temporal and worker are slow, not down: at 5 s, 50 parallel registrations on
   * the embedded stack got 503s.
   */
  callDeadlineMs: 15_000,
  /**
   * A staff action's budget, from sending its Update: not accepted by then → 503 (repeat with the
   * same key); accepted but no result by then → 202 (accepted; the repeat gets the result).
   */
  updateResultMs: 20_000,
  /** The readiness probe's own deadline, inside the 1 s a probe allows. */
  readinessMs: 800,
} as const;

/** The API's connection options on top of address and credentials (tests use them too). */
export function apiConnectionOptions(): Pick<ConnectionOptions, 'connectTimeout' | 'channelArgs' | 'interceptors'> {
  const t = API_TEMPORAL_TIMING;
  return {
    connectTimeout: t.connectTimeoutMs,
    channelArgs: {
      'grpc.initial_reconnect_backoff_ms': t.initialReconnectBackoffMs,
      'grpc.min_reconnect_backoff_ms': t.initialReconnectBackoffMs,
      'grpc.max_reconnect_backoff_ms': t.maxReconnectBackoffMs,
    },
    interceptors: [makeGrpcRetryInterceptor(defaultGrpcRetryOptions({ maxAttempts: t.maxAttempts }))],
  };
}

/** The API's client (its timings); `close` ends the token renewals and the connection. */
export async function connectClient(
  codec: PayloadCodec | null,
  options: TemporalConnectOptions = {},
): Promise<{ client: Client; close(): Promise<void> }> {
  const settings = temporalSettings(options.env);
  const { address, tls, metadata } = settings.connectionOptions;
  const { connection, namespace, close } = await withCredentials(settings, options.logger, (apiKey) =>
    Connection.connect({ address, tls, apiKey, metadata, ...apiConnectionOptions() }),
  );
  return { client: new Client({ connection, namespace, dataConverter: dataConverterFor(codec) }), close };
}

/** The worker's connection; `close` ends the token renewals and the connection. */
export function connectWorkerConnection(
  options: TemporalConnectOptions = {},
): Promise<ClosableConnection<NativeConnection>> {
  const settings = temporalSettings(options.env);
  return withCredentials(settings, options.logger, (apiKey) =>
    NativeConnection.connect({ ...settings.connectionOptions, apiKey }),
  );
}
