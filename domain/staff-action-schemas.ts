/**
 * The full schema of every staff action's input, for the API (request validation, OpenAPI) and
 * for tests. The workflow never imports this module: it checks light shapes only
 * (`staff-actions.ts`), so zod stays out of its bundle.
 */
import { type z } from 'zod';
import { jsonShapeRefusal, type Refusal, type StaffActionInput, type StaffActionName } from './staff-actions';
import {
  ExpertScore,
  Extension,
  FinalReport,
  IntegrityFlag,
  MidtermReport,
  Objection,
  ReclaimClosure,
  Rectification,
  ReviewDecision,
  SubmittedApplication,
  TrancheConfirmation,
  TrancheVoid,
  Verdict,
  Withdrawal,
  acting,
  type Acting,
} from './pilot';

export const STAFF_ACTION_SCHEMAS: { [N in StaffActionName]: z.ZodType<StaffActionInput<N>> } = {
  submit: SubmittedApplication,
  recordExpertScore: ExpertScore,
  decideReview: ReviewDecision,
  raiseObjection: Objection,
  confirmTranche: TrancheConfirmation,
  voidTranche: TrancheVoid,
  closeReclaim: ReclaimClosure,
  submitMidtermReport: MidtermReport,
  evaluateMidterm: Verdict,
  submitFinalReport: FinalReport,
  decideAcceptance: Verdict,
  submitRectification: Rectification,
  extendDueDate: Extension as unknown as z.ZodType<StaffActionInput<'extendDueDate'>>,
  withdraw: Withdrawal,
  flagIntegrity: IntegrityFlag,
};

/**
 * The full check of an action's input with its actor, in normal form: what the API sends always
 * passes, and the workflow's light shapes (`checkActing`) accept whatever passes here.
 */
export function parseActing<S extends z.ZodType>(
  schema: S,
  input: unknown,
): { ok: true; value: Acting<z.output<S>> } | { ok: false; refusal: Refusal } {
  const shapeRefusal = jsonShapeRefusal(input);
  if (shapeRefusal) return { ok: false, refusal: shapeRefusal };
  const parsed = acting(schema).safeParse(input);
  if (!parsed.success) {
    const where = parsed.error.issues.map((i) => `${i.path.map(String).join('.')}: ${i.message}`).join('; ');
    return { ok: false, refusal: { code: 'VALIDATION_FAILED', detail: where } };
  }
  // Handlers store the input exactly as recorded, so only an input already in its normal form is
  // accepted: trimmed, instants in UTC, no unknown fields. The API always sends it so.
  const differs = firstDifference(parsed.data, input);
  if (differs !== null) {
    return {
      ok: false,
      refusal: {
        code: 'VALIDATION_FAILED',
        detail: `${differs || 'input'}: not in normal form (trimmed, UTC, known fields)`,
      },
    };
  }
  return { ok: true, value: parsed.data as Acting<z.output<S>> };
}

/** The path of the first place where two JSON values differ; null when they are equal. */
function firstDifference(a: unknown, b: unknown, path = ''): string | null {
  if (a === b) return null;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return path;
  if (Array.isArray(a) !== Array.isArray(b)) return path;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of keys) {
    const inner = firstDifference(
      (a as Record<string, unknown>)[key],
      (b as Record<string, unknown>)[key],
      path ? `${path}.${key}` : key,
    );
    if (inner !== null) return inner;
  }
  return null;
}
