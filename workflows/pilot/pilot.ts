/**
 * The life of one reform pilot (试点) under a call, from registration to closure, as one durable
 * workflow. `pilot()` below reads top to bottom; every number comes from the call snapshot the
 * workflow started with.
 *
 * Staff actions arrive as Updates. Each validator refuses what the rules forbid, so a refused
 * action leaves no trace in history. An accepted action stores its input, then waits until the
 * lifecycle has acted on it (payments, phase change, audit record) and answers with the new state.
 */
import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  defineQuery,
  defineUpdate,
  currentUpdateInfo,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { ActivityOptions, UpdateDefinition } from '@temporalio/common';
import type { z } from 'zod';
import type { Activities } from '../activities';
import { expectedPdfName, formIssuesAgainst } from '../domain/application-form';
import { toMs } from '../domain/duration';
import { bilingual, type RefusalCode } from '../domain/errors';
import { formatYuan, splitTranches } from '../domain/money';
import { searchAttributesOf } from '../domain/search-attributes';
import { formatBeijing } from '../domain/time';
import type { NoticeContent } from '../domain/notice';
import {
  acting,
  ENDED_PHASES,
  ExpertScore,
  Extension,
  FinalReport,
  IntegrityFlag,
  MidtermReport,
  Objection,
  Rectification,
  ReviewDecision,
  Submission,
  TrancheConfirmation,
  Verdict,
  Withdrawal,
  type Acting,
  type Actor,
  type Done,
  type PilotStart,
  type PilotState,
  type Tranche,
} from '../domain/pilot';
import { waitWithReminders, type Waiting } from './waiting';

/** Database writes: short, idempotent, retried for as long as the database is away. */
const DATABASE_WRITE: ActivityOptions = {
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
};
/** SMTP can be slow or down for a while; the outbox keeps each message once per key meanwhile. */
const MAIL: ActivityOptions = {
  startToCloseTimeout: '1m',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '10m' },
};
const { recordPilotStep, issuePaymentInstruction, recordTrancheConfirmation, withholdTranche, flagUnitIntegrity } =
  proxyActivities<Activities>(DATABASE_WRITE);
const { sendNotice } = proxyActivities<Activities>(MAIL);

const TRANCHE_NAMES = { first: '第一批经费 first tranche', tail: '尾款 tail tranche' } as const;

export const pilotStateQuery = defineQuery<PilotState>('pilotState');

export const submitUpdate = defineUpdate<PilotState, [Acting<Submission>]>('submit');
export const scoreUpdate = defineUpdate<PilotState, [Acting<ExpertScore>]>('recordExpertScore');
export const decideReviewUpdate = defineUpdate<PilotState, [Acting<ReviewDecision>]>('decideReview');
export const objectUpdate = defineUpdate<PilotState, [Acting<Objection>]>('raiseObjection');
export const confirmTrancheUpdate = defineUpdate<PilotState, [Acting<TrancheConfirmation>]>('confirmTranche');
export const midtermReportUpdate = defineUpdate<PilotState, [Acting<MidtermReport>]>('submitMidtermReport');
export const midtermEvaluationUpdate = defineUpdate<PilotState, [Acting<Verdict>]>('evaluateMidterm');
export const finalReportUpdate = defineUpdate<PilotState, [Acting<FinalReport>]>('submitFinalReport');
export const acceptanceUpdate = defineUpdate<PilotState, [Acting<Verdict>]>('decideAcceptance');
export const rectificationUpdate = defineUpdate<PilotState, [Acting<Rectification>]>('submitRectification');
export const extendUpdate = defineUpdate<PilotState, [Acting<Extension>]>('extendDueDate');
export const withdrawUpdate = defineUpdate<PilotState, [Acting<Withdrawal>]>('withdraw');
export const integrityUpdate = defineUpdate<PilotState, [Acting<IntegrityFlag>]>('flagIntegrity');

export async function pilot(start: PilotStart): Promise<PilotState> {
  const { registration, call } = start;
  const timing = call.timing;
  const reminders = { before: timing.reminderBefore.map(toMs), overdueEvery: toMs(timing.overdueReminderEvery) };
  const decisionReminders = { before: [], overdueEvery: toMs(timing.overdueReminderEvery) };
  const now = () => new Date(Date.now()).toISOString();
  const after = (from: string, duration: Parameters<typeof toMs>[0]) =>
    new Date(Date.parse(from) + toMs(duration)).toISOString();
  const pilotContacts = registration.contacts.map((c) => c.email);
  const office = [call.office.email];

  const state: PilotState = {
    pilotId: start.pilotId,
    callId: call.id,
    callName: call.name,
    phase: 'registered',
    pilotUnit: registration.pilotUnit,
    applicantUnit: registration.applicantUnit,
    province: registration.province,
    provincial: registration.provincial,
    registeredAt: now(),
    registeredBy: start.registeredBy,
    submissionDeadline: call.submissionDeadline,
    fundingRangeFen: { min: call.funding.minFen, max: call.funding.maxFen },
    submission: null,
    expertScores: [],
    review: null,
    objections: [],
    publicNotice: null,
    approvedAmountFen: null,
    tranches: null,
    startedWorkAt: null,
    due: { midtermReport: null, finalReport: null, acceptance: null },
    extensions: [],
    midtermReport: null,
    midtermEvaluation: null,
    finalReport: null,
    acceptances: [],
    rectifications: [],
    rectificationDue: null,
    ending: null,
    waitingFor: { what: 'submission', until: call.submissionDeadline },
    updatedAt: now(),
    version: 0,
  };

  // ---- how steps are recorded, announced and paid ----------------------------------------

  const ended = () => ENDED_PHASES.includes(state.phase);
  /**
   * Bumped whenever the lifecycle blocks on something that has not arrived yet, or ends: by then it
   * has acted on every input so far, so the updates that drive it answer after it.
   */
  let settled = 0;
  const settle = () => {
    settled += 1;
  };

  /**
   * Histories recorded before search attributes and summaries existed replay without them: this
   * is the worked example of changing workflow logic under running pilots (see README).
   */
  const auditable = patched('search-attributes-and-summaries');
  const summary = (text: string) => (auditable ? { summary: text } : {});

  /** What auditors see in the Web UI's list and header: search attributes and the details line. */
  let published = '';
  const publish = () => {
    const waiting = state.waitingFor
      ? ` · 等待 waiting for: ${state.waitingFor.what}${state.waitingFor.until ? ` · 截止 until: ${formatBeijing(state.waitingFor.until)}` : ''}`
      : '';
    setCurrentDetails(`阶段 phase: ${state.phase}${waiting}`);
    if (!auditable) return;
    const attributes = searchAttributesOf(state);
    const signature = JSON.stringify(attributes.map((a) => a.value));
    if (signature === published) return;
    published = signature;
    upsertSearchAttributes(attributes);
  };

  /** Records a step; `who` is the decision (with its actor and update id) or the acting user. */
  const record = async (step: string, who?: Actor | Done, reason?: string) => {
    state.version += 1;
    state.updatedAt = now();
    publish();
    const actor = who && 'by' in who ? who.by : who;
    const updateId = who && 'by' in who ? who.updateId : undefined;
    await recordPilotStep.executeWithOptions({ ...DATABASE_WRITE, ...summary(`记录 record: ${step}`) }, [
      { step, state, actor, reason, updateId },
    ]);
  };

  const notify = (key: string, to: string[], content: NoticeContent) =>
    sendNotice.executeWithOptions({ ...MAIL, ...summary(`通知 notice: ${key}`) }, [
      {
        key: `${state.pilotId}:${key}`,
        pilotId: state.pilotId,
        pilotName: state.pilotUnit.name,
        callName: call.name,
        to,
        content,
      },
    ]);

  const wait = async (w: Omit<Waiting, 'abandoned' | 'remind'> & { to: string[]; track?: boolean }) => {
    // Untracked waits (finance confirmations) outlive the pilot's story: instructed money is confirmed.
    const track = w.track !== false;
    if (track) {
      state.waitingFor = { what: w.step as NonNullable<PilotState['waitingFor']>['what'], until: w.due() };
      publish();
    }
    const outcome = await waitWithReminders({
      ...w,
      describe: auditable ? (due) => `${w.step} 截止 due ${formatBeijing(due)}` : undefined,
      onBlock: track ? settle : undefined,
      abandoned: track ? ended : () => false,
      remind: (key, content) => notify(key, w.to, content),
    });
    if (outcome === 'abandoned' && track) throw new PilotEnded();
    return outcome;
  };

  /** Finance's confirmation is awaited beside the lifecycle, with reminders while it is late. */
  const confirmations: Promise<unknown>[] = [];

  const issueTranche = async (tranche: Tranche) => {
    if (ended()) throw new PilotEnded();
    const t = state.tranches![tranche];
    t.status = 'issued';
    t.issuedAt = now();
    await issuePaymentInstruction.executeWithOptions(
      {
        ...DATABASE_WRITE,
        ...summary(`${TRANCHE_NAMES[tranche]} 拨款指令 instruction ${formatYuan(t.amountFen)} 元 CNY`),
      },
      [{ pilotId: state.pilotId, callId: call.id, tranche, amountFen: t.amountFen }],
    );
    await notify(`instruction:${tranche}`, [call.financeEmail], {
      template: 'payment-instruction',
      tranche,
      amountFen: t.amountFen,
    });
    await record(`${tranche}-tranche-issued`);
    const issuedAt = t.issuedAt;
    confirmations.push(
      wait({
        step: 'finance-confirmation',
        key: `finance-confirmation-${tranche}`,
        done: () => t.status === 'confirmed',
        due: () => after(issuedAt, timing.financeConfirmationWithin),
        reminders: decisionReminders,
        to: [call.financeEmail],
        track: false,
      }),
    );
  };

  const withhold = async (tranche: Tranche, reason: string) => {
    const t = state.tranches![tranche];
    t.status = 'withheld';
    t.withheld = { at: now(), reason };
    await withholdTranche.executeWithOptions(
      {
        ...DATABASE_WRITE,
        ...summary(`${TRANCHE_NAMES[tranche]} 不予拨付 withheld ${formatYuan(t.amountFen)} 元 CNY`),
      },
      [{ pilotId: state.pilotId, tranche, amountFen: t.amountFen, reason }],
    );
    await notify(`withheld:${tranche}`, [...pilotContacts, ...office], {
      template: 'tranche-withheld',
      tranche,
      amountFen: t.amountFen,
      reason,
    });
  };

  /** When a pilot ends early, tranches not yet instructed are withheld, with the reason. */
  const withholdPending = async (reason: string) => {
    for (const tranche of ['first', 'tail'] as const) {
      if (state.tranches?.[tranche].status === 'pending') await withhold(tranche, reason);
    }
  };

  // ---- staff actions ----------------------------------------------------------------------

  setHandler(pilotStateQuery, () => state);

  /**
   * One staff action: `allowed` refuses it in the validator; `accept` stores it. Actions that drive
   * the lifecycle then wait until it has settled again, so the answer shows their consequences.
   */
  function action<A>(
    update: UpdateDefinition<PilotState, [Acting<A>]>,
    schema: z.ZodType<A>,
    allowed: (input: A) => void,
    accept: (input: A, by: Done) => void | Promise<void>,
    { drives = true, afterEnd = false }: { drives?: boolean; afterEnd?: boolean } = {},
  ) {
    setHandler(
      update,
      async (input) => {
        const { actor, ...rest } = input;
        const before = settled;
        // Validators do not run on replay; parsing here also stores the normalised input (trimmed, UTC).
        await accept(schema.parse(rest), { at: now(), by: actor, updateId: currentUpdateInfo()?.id });
        if (drives) await condition(() => settled > before);
        return state;
      },
      {
        validator: (input) => {
          const parsed = parseOrRefuse(acting(schema), input);
          if (ended() && !afterEnd) refuse(state.phase === 'expired' ? 'SUBMISSION_DEADLINE_PASSED' : 'PILOT_ENDED');
          allowed(parsed);
        },
      },
    );
  }

  action(
    submitUpdate,
    Submission,
    ({ form, pdf }) => {
      if (Date.now() >= Date.parse(call.submissionDeadline)) refuse('SUBMISSION_DEADLINE_PASSED');
      if (state.phase !== 'registered' || state.submission) refuse('ALREADY_SUBMITTED');
      const issues = formIssuesAgainst(form, call, {
        pilotUnitName: registration.pilotUnit.name,
        applicantUnitName: registration.applicantUnit.name,
        provincial: registration.provincial,
      });
      if (issues.length) refuse('VALIDATION_FAILED', issues.map((i) => `${i.path}: ${i.message}`).join('; '));
      if (pdf.fileName.normalize('NFC') !== expectedPdfName(registration.applicantUnit.name)) refuse('PDF_WRONG_NAME');
    },
    (submission, done) => {
      state.submission = { ...submission, ...done };
    },
  );

  action(
    scoreUpdate,
    ExpertScore,
    (score) => {
      if (state.phase === 'registered') refuse('NOT_YET_SUBMITTED');
      if (state.phase !== 'submitted' && state.phase !== 'under_review') refuse('ALREADY_DECIDED');
      if (score.expert.province === state.province) refuse('EXPERT_CONFLICT_OF_INTEREST', score.expert.province);
      if (state.expertScores.some((s) => s.expert.id === score.expert.id)) refuse('EXPERT_ALREADY_SCORED');
    },
    async (score, done) => {
      state.expertScores.push({ ...score, ...done });
      state.phase = 'under_review';
      await record(`expert-score:${score.expert.id}:${state.objections.length}`, done, score.comment);
    },
    { drives: false },
  );

  action(
    decideReviewUpdate,
    ReviewDecision,
    (decision) => {
      if (state.phase === 'registered') refuse('NOT_YET_SUBMITTED');
      if ((state.phase !== 'submitted' && state.phase !== 'under_review') || state.review) refuse('ALREADY_DECIDED');
      if (state.expertScores.length < call.review.minExpertScores) {
        refuse('NOT_ENOUGH_EXPERT_SCORES', `${state.expertScores.length}/${call.review.minExpertScores}`);
      }
      if (
        decision.outcome === 'approved' &&
        (decision.amountFen < call.funding.minFen || decision.amountFen > call.funding.maxFen)
      ) {
        refuse('AMOUNT_OUT_OF_RANGE', `${call.funding.minFen}–${call.funding.maxFen} fen`);
      }
    },
    (decision, done) => {
      state.review = { ...decision, ...done };
    },
  );

  action(
    objectUpdate,
    Objection,
    () => {
      const notice = state.publicNotice;
      if (state.phase !== 'public_notice' || !notice || Date.now() >= Date.parse(notice.endsAt)) {
        refuse('NOT_IN_PUBLIC_NOTICE');
      }
      if (state.objections.length > notice.objectionsBefore) refuse('NOT_IN_PUBLIC_NOTICE', 'already objected');
    },
    (objection, done) => {
      state.objections.push({ ...objection, ...done });
    },
  );

  action(
    confirmTrancheUpdate,
    TrancheConfirmation,
    ({ tranche }) => {
      const t = state.tranches?.[tranche];
      if (!t || t.status === 'pending' || t.status === 'withheld') refuse('TRANCHE_NOT_ISSUED');
      if (t.status === 'confirmed') refuse('TRANCHE_ALREADY_CONFIRMED');
    },
    async ({ tranche, reference }, done) => {
      const t = state.tranches![tranche];
      t.status = 'confirmed';
      t.confirmation = { reference, ...done };
      await recordTrancheConfirmation.executeWithOptions(
        { ...DATABASE_WRITE, ...summary(`${TRANCHE_NAMES[tranche]} 财务确认 confirmed by finance`) },
        [{ pilotId: state.pilotId, tranche, reference, confirmedBy: done.by, at: done.at }],
      );
      await record(`${tranche}-tranche-confirmed`, done);
    },
    { drives: false, afterEnd: true },
  );

  action(
    midtermReportUpdate,
    MidtermReport,
    () => {
      if (state.phase !== 'in_progress' || state.midtermReport) refuse('WRONG_PHASE', state.phase);
    },
    (report, done) => {
      state.midtermReport = { ...report, ...done };
    },
  );

  action(
    midtermEvaluationUpdate,
    Verdict,
    () => {
      if (state.phase !== 'midterm_review' || state.midtermEvaluation) refuse('WRONG_PHASE', state.phase);
    },
    (verdict, done) => {
      state.midtermEvaluation = { ...verdict, ...done };
    },
  );

  action(
    finalReportUpdate,
    FinalReport,
    () => {
      if ((state.phase !== 'midterm_passed' && state.phase !== 'tail_withheld') || state.finalReport) {
        refuse('WRONG_PHASE', state.phase);
      }
    },
    (report, done) => {
      state.finalReport = { ...report, ...done };
    },
  );

  action(
    acceptanceUpdate,
    Verdict,
    () => {
      // One verdict per round: the round's verdict closes it until a rectification opens the next.
      if (state.phase !== 'acceptance_review' || state.acceptances.length > state.rectifications.length) {
        refuse('WRONG_PHASE', state.phase);
      }
    },
    (verdict, done) => {
      state.acceptances.push({ ...verdict, ...done, round: state.rectifications.length });
    },
  );

  action(
    rectificationUpdate,
    Rectification,
    () => {
      if (state.phase !== 'rectifying' || state.rectifications.length >= state.acceptances.length) {
        refuse('WRONG_PHASE', state.phase);
      }
    },
    (rectification, done) => {
      state.rectifications.push({ ...rectification, ...done, round: state.rectifications.length + 1 });
    },
  );

  const pendingDue = (which: Extension['which']): string | null => {
    if (which === 'midterm-report') return state.phase === 'in_progress' ? state.due.midtermReport : null;
    if (which === 'final-report') {
      return state.phase === 'midterm_passed' || state.phase === 'tail_withheld' ? state.due.finalReport : null;
    }
    return state.phase === 'acceptance_review' ? state.due.acceptance : null;
  };

  action(
    extendUpdate,
    Extension,
    ({ which, until }) => {
      const current = pendingDue(which);
      if (!current) refuse('NOTHING_TO_EXTEND', which);
      if (Date.parse(until) <= Math.max(Date.parse(current), Date.now())) refuse('EXTENSION_NOT_LATER');
    },
    async (extension, done) => {
      const from = pendingDue(extension.which);
      const key =
        extension.which === 'midterm-report'
          ? 'midtermReport'
          : extension.which === 'final-report'
            ? 'finalReport'
            : 'acceptance';
      state.due[key] = extension.until;
      if (state.waitingFor) state.waitingFor.until = extension.until;
      state.extensions.push({ ...extension, ...done, from });
      await record(`extended:${extension.which}:${state.extensions.length}`, done, extension.reason);
    },
    { drives: false },
  );

  action(
    withdrawUpdate,
    Withdrawal,
    () => undefined,
    async ({ reason }, done) => {
      state.phase = 'withdrawn';
      state.ending = { kind: 'withdrawn', reason, ...done };
      state.waitingFor = null;
      await withholdPending(reason);
      await record('withdrawn', done, reason);
    },
    { drives: false },
  );

  action(
    integrityUpdate,
    IntegrityFlag,
    () => undefined,
    async ({ reason }, done) => {
      state.phase = 'integrity_failed'; // 弄虚作假
      state.ending = { kind: 'integrity_failed', reason, ...done };
      state.waitingFor = null;
      await flagUnitIntegrity.executeWithOptions(
        { ...DATABASE_WRITE, ...summary('弄虚作假记入单位档案 integrity flag on the unit’s record') },
        [{ pilotId: state.pilotId, pilotUnitCode: state.pilotUnit.code, reason, flaggedBy: done.by, at: done.at }],
      );
      await withholdPending(reason);
      await record('integrity-failed', done, reason);
    },
    { drives: false },
  );

  // ---- the lifecycle ----------------------------------------------------------------------

  try {
    await record('registered', start.registeredBy);

    // 1. Submission of the sealed application by the deadline; late ones are not accepted (逾期不予受理).
    const submitted = await wait({
      step: 'submission',
      done: () => state.submission !== null,
      due: () => call.submissionDeadline,
      reminders: { before: reminders.before, overdueEvery: null },
      expiresAtDue: true,
      to: pilotContacts,
    });
    if (submitted === 'expired') {
      state.phase = 'expired';
      await record('expired');
      return await finish();
    }
    state.phase = 'submitted';
    await record('submitted', state.submission!);

    // 2. Expert review, then the panel's decision, then the public notice (公示).
    for (let round = 0; ; round += 1) {
      await wait({
        step: 'review-decision',
        key: `review-decision-${round}`,
        done: () => state.review !== null,
        due: () => after(state.submission!.at, timing.reviewWithin),
        reminders: decisionReminders,
        to: office,
      });
      const decision = state.review!;
      if (decision.outcome === 'rejected') {
        state.phase = 'rejected';
        await record(`review-decided:${round}`, decision, decision.reason);
        return await finish();
      }
      const objections = state.objections.length;
      state.phase = 'public_notice';
      state.publicNotice = {
        startedAt: now(),
        endsAt: after(now(), timing.publicNoticePeriod),
        objectionsBefore: objections,
      };
      state.waitingFor = { what: 'public-notice', until: state.publicNotice.endsAt };
      await record(`review-decided:${round}`, decision, decision.reason);
      const objectedOrEnded = () => state.objections.length > objections || ended();
      if (!objectedOrEnded()) settle();
      const objected = await condition(
        objectedOrEnded,
        Math.max(0, Date.parse(state.publicNotice.endsAt) - Date.now()),
        summary(`公示期 public notice ends ${formatBeijing(state.publicNotice.endsAt)}`),
      );
      if (ended()) throw new PilotEnded();
      if (!objected) break;
      // An objection sends the decision back to the experts.
      const objection = state.objections.at(-1)!;
      state.phase = 'under_review';
      state.review = null;
      state.publicNotice = null;
      await record(`objection:${state.objections.length}`, objection, objection.reason);
    }
    state.approvedAmountFen = (state.review as Extract<PilotState['review'], { outcome: 'approved' }>).amountFen;
    const amounts = splitTranches(state.approvedAmountFen, call.firstTrancheBasisPoints);
    const tranche = (amountFen: number) => ({
      amountFen,
      status: 'pending' as const,
      issuedAt: null,
      confirmation: null,
      withheld: null,
    });
    state.tranches = { first: tranche(amounts.first), tail: tranche(amounts.tail) };
    await record('public-notice-passed');

    // 3. The first tranche (50%) is instructed, and the pilot's work begins.
    await issueTranche('first');
    if (ended()) throw new PilotEnded();
    state.phase = 'in_progress';
    state.startedWorkAt = now();
    state.due.midtermReport = after(state.startedWorkAt, timing.midtermReportDueAfter);
    state.due.finalReport = after(state.startedWorkAt, timing.finalReportDueAfter);
    await record('work-started');

    // 4. Midterm report, then the midterm evaluation (中期评审): failing it withholds the tail (不予拨付尾款).
    await wait({
      step: 'midterm-report',
      done: () => state.midtermReport !== null,
      due: () => state.due.midtermReport!,
      reminders,
      to: pilotContacts,
    });
    state.phase = 'midterm_review';
    await record('midterm-report-submitted', state.midtermReport!);
    await wait({
      step: 'midterm-evaluation',
      done: () => state.midtermEvaluation !== null,
      due: () => after(state.midtermReport!.at, timing.midtermEvaluationWithin),
      reminders: decisionReminders,
      to: office,
    });
    const midterm = state.midtermEvaluation!;
    if (midterm.outcome === 'passed') {
      state.phase = 'midterm_passed';
      await record('midterm-evaluated', midterm, midterm.reason);
      await issueTranche('tail');
    } else {
      state.phase = 'tail_withheld';
      await record('midterm-evaluated', midterm, midterm.reason);
      if (ended()) throw new PilotEnded();
      await withhold('tail', midterm.reason);
      await record('tail-withheld', midterm, midterm.reason);
    }

    // 5. Final report (the pilot report, typical cases, institutional innovations), then acceptance
    //    (结项验收): passed closes the pilot; failed leaves it not closed (不予结项) once the
    //    configured rectification rounds are used up.
    await wait({
      step: 'final-report',
      done: () => state.finalReport !== null,
      due: () => state.due.finalReport!,
      reminders,
      to: pilotContacts,
    });
    state.phase = 'acceptance_review';
    state.due.acceptance = after(state.finalReport!.at, timing.acceptanceWithin);
    await record('final-report-submitted', state.finalReport!);

    for (let round = 0; ; round += 1) {
      await wait({
        step: 'acceptance',
        done: () => state.acceptances.length > round,
        due: () => state.due.acceptance!,
        reminders: decisionReminders,
        to: office,
      });
      const verdict = state.acceptances[round]!;
      if (verdict.outcome === 'passed') {
        state.phase = 'closed'; // 结项
        await record(`acceptance:${round}`, verdict, verdict.reason);
        break;
      }
      if (round >= timing.rectificationRounds) {
        state.phase = 'not_closed'; // 不予结项
        await record(`acceptance:${round}`, verdict, verdict.reason);
        break;
      }
      state.phase = 'rectifying'; // 整改
      state.rectificationDue = after(now(), timing.rectificationPeriod);
      await record(`acceptance:${round}`, verdict, verdict.reason);
      const rectified = await wait({
        step: 'rectification',
        done: () => state.rectifications.length > round,
        due: () => state.rectificationDue!,
        reminders: { before: reminders.before, overdueEvery: null },
        expiresAtDue: true,
        to: pilotContacts,
      });
      if (rectified === 'expired') {
        state.phase = 'not_closed';
        await record(`rectification-missed:${round + 1}`);
        break;
      }
      state.phase = 'acceptance_review';
      state.due.acceptance = after(now(), timing.acceptanceWithin);
      await record(`rectification:${round + 1}`, state.rectifications[round]!);
    }
    return await finish();
  } catch (error) {
    if (error instanceof PilotEnded) return finish();
    throw error;
  }

  /** The pilot's story is over; the workflow still waits for finance to confirm what was instructed. */
  async function finish(): Promise<PilotState> {
    state.waitingFor = null;
    publish();
    settle();
    await Promise.all(confirmations);
    await condition(allHandlersFinished);
    return state;
  }
}

/** Raised inside the workflow when staff end the pilot (withdrawal, integrity); never leaves it. */
class PilotEnded extends Error {}

function refuse(code: RefusalCode, detail?: string): never {
  throw ApplicationFailure.create({
    type: code,
    message: bilingual(code, detail),
    details: detail === undefined ? [] : [detail],
    nonRetryable: true,
  });
}

/** Updates can also come from other clients (the CLI, scripts): the workflow checks shapes itself. */
function parseOrRefuse<T>(schema: z.ZodType<T>, input: unknown): T {
  if (JSON.stringify(input).includes('\\u0000')) refuse('VALIDATION_FAILED', 'NUL characters are not allowed');
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const where = parsed.error.issues.map((i) => `${i.path.map(String).join('.')}: ${i.message}`).join('; ');
    refuse('VALIDATION_FAILED', where);
  }
  return parsed.data;
}
