import { Client, Connection } from '@temporalio/client';
import type { DataConverter, PayloadCodec } from '@temporalio/common';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { NativeConnection } from '@temporalio/worker';

/**
 * Where Temporal is, from the standard environment (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
 * TEMPORAL_API_KEY, TEMPORAL_TLS_*, TEMPORAL_PROFILE, temporal.toml), so the same worker and API
 * run unchanged against the dev server, a self-hosted cluster or Temporal Cloud.
 */
export function temporalSettings(env: NodeJS.ProcessEnv = process.env) {
  const { connectionOptions, namespace } = loadClientConnectConfig({
    profile: env.TEMPORAL_PROFILE,
    overrideEnvVars: Object.fromEntries(
      Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined),
    ),
  });
  return {
    connectionOptions: { ...connectionOptions, address: connectionOptions.address ?? '127.0.0.1:7233' },
    namespace: namespace ?? 'default',
  };
}

/** Payloads pass through the codec (encryption) when keys are configured. */
export function dataConverterFor(codec: PayloadCodec | null): DataConverter | undefined {
  return codec ? { payloadCodecs: [codec] } : undefined;
}

export async function connectClient(codec: PayloadCodec | null, env?: NodeJS.ProcessEnv): Promise<Client> {
  const { connectionOptions, namespace } = temporalSettings(env);
  const { address, tls, apiKey, metadata } = connectionOptions;
  const connection = await Connection.connect({ address, tls, apiKey, metadata });
  return new Client({ connection, namespace, dataConverter: dataConverterFor(codec) });
}

export async function connectWorkerConnection(env?: NodeJS.ProcessEnv) {
  const { connectionOptions, namespace } = temporalSettings(env);
  return { connection: await NativeConnection.connect(connectionOptions), namespace };
}
