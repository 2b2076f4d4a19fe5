import type { Role } from '../../domain/pilot';
import { OPERATOR_CLIENT_ID, SERVICE_CLIENT_ID } from './files';

/**
 * The claim Temporal's default JWT claim mapper reads: an array of `"<namespace>:<role>"`, the
 * role one of read, write, worker or admin. A named constant because the Temporal server's
 * configuration must name the same claim if it is ever changed.
 */
export const TEMPORAL_PERMISSIONS_CLAIM = 'permissions';
/** The namespace that Temporal's default claim mapper takes as cluster-wide (its "system" role). */
export const TEMPORAL_SYSTEM_NAMESPACE = 'temporal-system';

type TemporalRole = 'read' | 'write' | 'worker' | 'admin';
/** A role on the whole cluster (optional) and one on the pilots' namespace. */
interface TemporalAccess {
  cluster?: TemporalRole;
  namespace: TemporalRole;
}

export type ServiceClientId = typeof SERVICE_CLIENT_ID | typeof OPERATOR_CLIENT_ID;

/**
 * Reading the pilots in the Temporal Web UI: the namespace's histories, and the cluster-wide reads
 * the UI makes before it shows anything (GetClusterInfo, ListNamespaces).
 */
const READS_IN_WEB_UI: TemporalAccess = { cluster: 'read', namespace: 'read' };

/**
 * Who may do what on the Temporal server, by product role or service account. People only read:
 * every staff action goes through the admin API, which checks the person's role and itself acts
 * with the service account, so no person's token may start, signal, update or terminate a
 * workflow on its own (the Web UI's write switches are off too, but that is the UI's promise, not
 * the server's).
 */
const TEMPORAL_ACCESS: Record<Role | ServiceClientId, TemporalAccess> = {
  staff: READS_IN_WEB_UI,
  reviewer: READS_IN_WEB_UI,
  finance: READS_IN_WEB_UI,
  auditor: READS_IN_WEB_UI,
  admin: READS_IN_WEB_UI,
  // The worker polls and completes tasks; the API starts pilots, sends Updates, queries and
  // terminates them. Namespace write covers both; nothing cluster-wide.
  [SERVICE_CLIENT_ID]: { namespace: 'write' },
  // The launcher registers the namespace and adds the search attributes, once per deployment.
  [OPERATOR_CLIENT_ID]: { namespace: 'admin' },
};

/** The `permissions` claim for a person's role or a service account, in the given namespace. */
export function temporalPermissions(principal: Role | ServiceClientId, namespace: string): string[] {
  const access = TEMPORAL_ACCESS[principal];
  return [
    ...(access.cluster ? [`${TEMPORAL_SYSTEM_NAMESPACE}:${access.cluster}`] : []),
    `${namespace}:${access.namespace}`,
  ];
}

export const isServiceClientId = (clientId: string): clientId is ServiceClientId =>
  clientId === SERVICE_CLIENT_ID || clientId === OPERATOR_CLIENT_ID;
