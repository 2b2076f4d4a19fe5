/**
 * Registers the pilots' search attributes on a Temporal cluster (the dev server gets them from
 * `--search-attribute` at start). Idempotent: run it on every deployment.
 *
 *   TEMPORAL_ADDRESS=… TEMPORAL_NAMESPACE=… npm run temporal:search-attributes
 */
import type { ConnectionLike } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTES } from '../domain/search-attributes';
import { connectClient, temporalSettings } from '../lib/temporal';

const TYPES = {
  Keyword: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  Bool: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
  Datetime: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
} as const;

/** Adds the attributes the namespace lacks; returns the names it added. */
export async function ensureSearchAttributes(
  connection: Pick<ConnectionLike, 'operatorService'>,
  namespace: string,
): Promise<string[]> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const present = new Set(Object.keys(existing.customAttributes ?? {}));
  const missing = Object.entries(SEARCH_ATTRIBUTES).filter(([name]) => !present.has(name));
  if (missing.length > 0) {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map(([name, type]) => [name, TYPES[type]])),
    });
  }
  return missing.map(([name]) => name);
}

if (require.main === module) {
  (async () => {
    const { namespace } = temporalSettings();
    const { client, close } = await connectClient(null);
    try {
      const added = await ensureSearchAttributes(client.connection, namespace);
      console.log(
        added.length ? `added ${added.join(', ')} to ${namespace}` : `all search attributes present in ${namespace}`,
      );
    } finally {
      await close();
    }
  })().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
