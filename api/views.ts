import { CallInput, type Call } from '../domain/call';
import type { StoredApplicationForm } from '../domain/application-form';
import { submittedThemes, type PilotState, type Role } from '../domain/pilot';
import { formatBeijing } from '../domain/time';

/** Instants travel as UTC ISO; each view adds the same instants as Beijing wall-clock text. */
export function callView(row: { config: unknown; createdAt: Date }) {
  const call: Call = CallInput.parse(row.config);
  return {
    ...call,
    createdAt: row.createdAt.toISOString(),
    beijingTime: { submissionDeadline: formatBeijing(call.submissionDeadline) },
  };
}

/** Roles that do not need the application's personal data (contacts, team) see the form's themes only. */
const WITHOUT_FORM: readonly Role[] = ['finance'];

/**
 * The pilot as staff read it. A submission made since patch 'slim-history' refers to its form by
 * hash: `form` is the stored form (null while it cannot be read), put back in its place.
 */
export function pilotView(
  state: PilotState,
  uiUrl: string,
  namespace: string,
  role: Role,
  form: StoredApplicationForm | null = null,
) {
  const recorded = state.submission;
  const full = recorded && 'formHash' in recorded ? { ...recorded, form } : recorded;
  const submission = full && WITHOUT_FORM.includes(role) ? { ...full, form: { themes: submittedThemes(state) } } : full;
  return {
    ...state,
    submission,
    beijingTime: {
      registeredAt: formatBeijing(state.registeredAt),
      submissionDeadline: formatBeijing(state.submissionDeadline),
      ...(state.submission ? { submittedAt: formatBeijing(state.submission.at) } : {}),
      ...(state.review ? { decidedAt: formatBeijing(state.review.at) } : {}),
      ...(state.waitingFor?.until ? { waitingUntil: formatBeijing(state.waitingFor.until) } : {}),
      ...(state.due.midtermReport ? { midtermReportDue: formatBeijing(state.due.midtermReport) } : {}),
      ...(state.due.finalReport ? { finalReportDue: formatBeijing(state.due.finalReport) } : {}),
      ...(state.due.acceptance ? { acceptanceDue: formatBeijing(state.due.acceptance) } : {}),
    },
    links: {
      temporalUi: `${uiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(state.pilotId)}`,
    },
  };
}
