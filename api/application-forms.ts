/**
 * Application forms by content hash. The API stores a form once it has passed every check, before
 * the pilot's workflow hears of it; the workflow and its history carry only the hash, and the
 * pilot's view puts the form back.
 */
import { createHash } from 'node:crypto';
import type { ApplicationForm, StoredApplicationForm } from '../domain/application-form';
import type { PilotState } from '../domain/pilot';
import type { Prisma } from '../generated/prisma/client';
import type { Db } from '../lib/db';

/** Stores the form (idempotent: the same form has the same hash) and returns its hash. */
export async function storeApplicationForm(db: Db, form: ApplicationForm): Promise<string> {
  const json = JSON.stringify(form);
  const sha256 = createHash('sha256').update(json).digest('hex');
  await db.applicationForm.createMany({
    data: { sha256, form: form as unknown as Prisma.InputJsonValue },
    skipDuplicates: true,
  });
  return sha256;
}

/** The form a pilot's submission refers to, when it refers to one by hash. */
export async function submittedForm(db: Db, state: PilotState): Promise<StoredApplicationForm | null> {
  const submission = state.submission;
  if (!submission || !('formHash' in submission)) return null;
  const row = await db.applicationForm.findUnique({ where: { sha256: submission.formHash } });
  if (!row) return null;
  // Either version (formVersionOf tells them apart); both name the units in the same places.
  const form = row.form as unknown as StoredApplicationForm;
  // Forms are stored by content, not by pilot: a hash sent by another client than the API shows
  // nothing unless the form names this pilot's units.
  const same = (a: string, b: string) => a.normalize('NFC') === b.normalize('NFC');
  const ours =
    same(form.basic.pilotUnit, state.pilotUnit.name) && same(form.basic.applicantUnit, state.applicantUnit.name);
  return ours ? form : null;
}
