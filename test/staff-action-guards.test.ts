/**
 * The phase guard of every staff action, as the pure function the workflow's validators run: each
 * refusal a clerk can meet is reachable, and each allowed case is allowed. No server involved.
 */
import { CallInput, type Call } from '../domain/call';
import { initialPilotState, type Done, type PilotPhase, type PilotState, type TrancheState } from '../domain/pilot';
import {
  STAFF_ACTION_NAMES,
  STAFF_ACTIONS,
  parseActing,
  refusalOf,
  type StaffActionInput,
  type StaffActionName,
} from '../domain/staff-actions';
import { APPLICANT_UNIT, validForm } from './support/application';

const NOW = Date.parse('2020-06-01T02:00:00Z');
const call: Call = CallInput.parse({
  id: 'guards',
  name: '测试申报通知',
  submissionDeadline: '2020-06-10',
  funding: { minFen: 300_000_00, maxFen: 400_000_00 },
  period: { start: '2020-07', end: '2021-07' },
  review: { minExpertScores: 2 },
  office: { name: '中国科协改革工作办公室', email: 'office@reform.test' },
  financeEmail: 'finance@reform.test',
});
const done: Done = { at: '2020-06-01T01:00:00.000Z', by: { id: 'clerk', role: 'staff' } };
const pdf = { sha256: 'a'.repeat(64), fileName: `${APPLICANT_UNIT}.pdf`, sizeBytes: 1000 };

function pilot(phase: PilotPhase = 'registered', change: (s: PilotState) => void = () => undefined): PilotState {
  const state = initialPilotState(
    {
      pilotId: 'guards.hangzhou',
      call,
      registeredBy: done.by,
      registration: {
        callId: call.id,
        pilotUnit: { code: 'hangzhou', name: '杭州市科协' },
        applicantUnit: { name: APPLICANT_UNIT },
        province: '浙江',
        provincial: false,
        contacts: [{ name: '王主任', email: 'head@pilot.test' }],
      },
    },
    done.at,
  );
  state.phase = phase;
  change(state);
  return state;
}

const tranche = (status: TrancheState['status']): TrancheState => ({
  amountFen: 175_000_00,
  status,
  issuedAt: status === 'pending' ? null : done.at,
  confirmation: null,
  withheld: null,
});
const withTranches =
  (first: TrancheState['status'], tail: TrancheState['status'] = 'pending') =>
  (s: PilotState) => {
    s.tranches = { first: tranche(first), tail: tranche(tail) };
  };

/** The code a guard gives (null: allowed), as the validator would see it. */
function check<N extends StaffActionName>(name: N, state: PilotState, input: StaffActionInput<N>, now = NOW) {
  return refusalOf(name, state, call, input, now)?.code ?? null;
}

const submission = { form: validForm('杭州市科协'), pdf };
const score = (province = '江苏', id = 'expert-1') => ({ expert: { id, province }, score: 90, comment: '好' });
const approve = (amountFen = 350_000_00) => ({ outcome: 'approved' as const, amountFen, reason: '通过' });
const scored = (n: number) => (s: PilotState) => {
  for (let i = 0; i < n; i += 1) s.expertScores.push({ ...score('江苏', `e${i}`), ...done });
};
const passed = { outcome: 'passed' as const, reason: '通过' };
const FINAL = { typicalCases: ['案例'], institutionalInnovations: ['制度'] };

describe('submit', () => {
  test('allowed once, before the deadline, with the registered units and the right PDF name', () => {
    expect(check('submit', pilot(), submission)).toBeNull();
  });
  test('refused after the deadline (24:00 Beijing time of the deadline day)', () => {
    expect(check('submit', pilot(), submission, Date.parse('2020-06-10T16:00:00Z'))).toBe('SUBMISSION_DEADLINE_PASSED');
    expect(check('submit', pilot(), submission, Date.parse('2020-06-10T15:59:59Z'))).toBeNull();
  });
  test('refused when already submitted', () => {
    expect(check('submit', pilot('submitted'), submission)).toBe('ALREADY_SUBMITTED');
    expect(
      check(
        'submit',
        pilot('registered', (s) => (s.submission = { ...submission, ...done })),
        submission,
      ),
    ).toBe('ALREADY_SUBMITTED');
  });
  test('refused when the form names other units than the registration', () => {
    expect(check('submit', pilot(), { form: validForm('宁波市科协'), pdf })).toBe('VALIDATION_FAILED');
  });
  test('refused when the PDF is not named after the applicant unit', () => {
    expect(check('submit', pilot(), { ...submission, pdf: { ...pdf, fileName: '申报书.pdf' } })).toBe('PDF_WRONG_NAME');
  });
});

describe('recordExpertScore', () => {
  test('allowed while the review is open', () => {
    expect(check('recordExpertScore', pilot('submitted'), score())).toBeNull();
    expect(check('recordExpertScore', pilot('under_review', scored(1)), score('安徽', 'expert-9'))).toBeNull();
  });
  test('refused before the submission and after the decision', () => {
    expect(check('recordExpertScore', pilot('registered'), score())).toBe('NOT_YET_SUBMITTED');
    expect(check('recordExpertScore', pilot('public_notice'), score())).toBe('ALREADY_DECIDED');
  });
  test('an expert from the pilot’s province recuses (回避)', () => {
    expect(check('recordExpertScore', pilot('submitted'), score('浙江'))).toBe('EXPERT_CONFLICT_OF_INTEREST');
  });
  test('an expert scores once', () => {
    expect(check('recordExpertScore', pilot('under_review', scored(1)), score('江苏', 'e0'))).toBe(
      'EXPERT_ALREADY_SCORED',
    );
  });
});

describe('decideReview', () => {
  test('allowed with enough scores: approved within the funding range, or rejected', () => {
    expect(check('decideReview', pilot('under_review', scored(2)), approve())).toBeNull();
    expect(check('decideReview', pilot('under_review', scored(2)), approve(300_000_00))).toBeNull();
    expect(check('decideReview', pilot('under_review', scored(2)), { outcome: 'rejected', reason: '不足' })).toBeNull();
  });
  test('refused before the submission, after a decision, or without enough scores', () => {
    expect(check('decideReview', pilot('registered'), approve())).toBe('NOT_YET_SUBMITTED');
    expect(check('decideReview', pilot('public_notice', scored(2)), approve())).toBe('ALREADY_DECIDED');
    const decided = pilot('under_review', (s) => {
      scored(2)(s);
      s.review = { ...approve(), ...done };
    });
    expect(check('decideReview', decided, approve())).toBe('ALREADY_DECIDED');
    expect(check('decideReview', pilot('under_review', scored(1)), approve())).toBe('NOT_ENOUGH_EXPERT_SCORES');
  });
  test('refused with an amount outside the call’s range', () => {
    expect(check('decideReview', pilot('under_review', scored(2)), approve(400_000_01))).toBe('AMOUNT_OUT_OF_RANGE');
    expect(check('decideReview', pilot('under_review', scored(2)), approve(299_999_99))).toBe('AMOUNT_OUT_OF_RANGE');
  });
});

describe('raiseObjection', () => {
  const notice =
    (objectionsBefore = 0) =>
    (s: PilotState) => {
      s.publicNotice = { startedAt: done.at, endsAt: new Date(NOW + 1000).toISOString(), objectionsBefore };
    };
  test('allowed during the public notice (公示), once per notice', () => {
    expect(check('raiseObjection', pilot('public_notice', notice()), { reason: '有异议' })).toBeNull();
  });
  test('refused outside the notice, after it ends, or a second time', () => {
    expect(check('raiseObjection', pilot('under_review'), { reason: '有异议' })).toBe('NOT_IN_PUBLIC_NOTICE');
    expect(check('raiseObjection', pilot('public_notice', notice()), { reason: '有异议' }, NOW + 1000)).toBe(
      'NOT_IN_PUBLIC_NOTICE',
    );
    const objected = pilot('public_notice', (s) => {
      notice()(s);
      s.objections.push({ reason: '有异议', ...done });
    });
    expect(check('raiseObjection', objected, { reason: '再次异议' })).toBe('NOT_IN_PUBLIC_NOTICE');
  });
});

describe('confirmTranche', () => {
  const confirm = (t: 'first' | 'tail' = 'first') => ({ tranche: t, reference: 'BANK-1' });
  test('allowed for an issued instruction, also after the pilot ended', () => {
    expect(check('confirmTranche', pilot('in_progress', withTranches('issued')), confirm())).toBeNull();
    expect(check('confirmTranche', pilot('withdrawn', withTranches('issued', 'withheld')), confirm())).toBeNull();
  });
  test('refused for a tranche not instructed, withheld, or already confirmed', () => {
    expect(check('confirmTranche', pilot('public_notice'), confirm())).toBe('TRANCHE_NOT_ISSUED');
    expect(check('confirmTranche', pilot('in_progress', withTranches('issued')), confirm('tail'))).toBe(
      'TRANCHE_NOT_ISSUED',
    );
    expect(
      check('confirmTranche', pilot('tail_withheld', withTranches('confirmed', 'withheld')), confirm('tail')),
    ).toBe('TRANCHE_NOT_ISSUED');
    expect(check('confirmTranche', pilot('in_progress', withTranches('confirmed')), confirm())).toBe(
      'TRANCHE_ALREADY_CONFIRMED',
    );
  });
});

describe('reports and verdicts', () => {
  test.each<[StaffActionName, PilotPhase, PilotPhase, object]>([
    ['submitMidtermReport', 'in_progress', 'midterm_review', { reference: '中期报告.pdf' }],
    ['evaluateMidterm', 'midterm_review', 'in_progress', passed],
    ['submitFinalReport', 'midterm_passed', 'acceptance_review', { ...FINAL, reportReference: 'r.pdf' }],
    ['submitFinalReport', 'tail_withheld', 'in_progress', { ...FINAL, reportReference: 'r.pdf' }],
    ['decideAcceptance', 'acceptance_review', 'rectifying', passed],
  ])('%s: allowed in %s, WRONG_PHASE in %s', (name, allowedIn, refusedIn, input) => {
    const action = name as 'submitMidtermReport';
    const typed = input as StaffActionInput<typeof action>;
    expect(check(action, pilot(allowedIn), typed)).toBeNull();
    expect(refusalOf(action, pilot(refusedIn), call, typed, NOW)).toEqual({ code: 'WRONG_PHASE', detail: refusedIn });
  });

  test('a report or verdict already given is not given again', () => {
    const reported = (s: PilotState) => (s.midtermReport = { reference: 'm.pdf', ...done });
    expect(check('submitMidtermReport', pilot('in_progress', reported), { reference: 'm2.pdf' })).toBe('WRONG_PHASE');
    const evaluated = (s: PilotState) => (s.midtermEvaluation = { ...passed, ...done });
    expect(check('evaluateMidterm', pilot('midterm_review', evaluated), passed)).toBe('WRONG_PHASE');
    const finalled = (s: PilotState) => (s.finalReport = { ...FINAL, reportReference: 'r.pdf', ...done });
    expect(check('submitFinalReport', pilot('midterm_passed', finalled), { ...FINAL, reportReference: 'r2.pdf' })).toBe(
      'WRONG_PHASE',
    );
  });

  test('acceptance: one verdict per round; a rectification opens the next', () => {
    const failedOnce = (s: PilotState) => s.acceptances.push({ outcome: 'failed', reason: '不足', ...done, round: 0 });
    expect(check('decideAcceptance', pilot('acceptance_review', failedOnce), passed)).toBe('WRONG_PHASE');
    expect(check('submitRectification', pilot('rectifying', failedOnce), { reference: '整改.pdf' })).toBeNull();
    expect(check('submitRectification', pilot('acceptance_review', failedOnce), { reference: '整改.pdf' })).toBe(
      'WRONG_PHASE',
    );
    const rectified = (s: PilotState) => {
      failedOnce(s);
      s.rectifications.push({ reference: '整改.pdf', ...done, round: 1 });
    };
    expect(check('decideAcceptance', pilot('acceptance_review', rectified), passed)).toBeNull();
    expect(check('submitRectification', pilot('rectifying', rectified), { reference: '整改2.pdf' })).toBe(
      'WRONG_PHASE',
    );
  });
});

describe('extendDueDate', () => {
  const due = new Date(NOW + 60_000).toISOString();
  const inProgress = pilot('in_progress', (s) => (s.due.midtermReport = due));
  const extension = (until: string, which: 'midterm-report' | 'final-report' | 'acceptance' = 'midterm-report') => ({
    which,
    until,
    reason: '疫情',
  });
  test('allowed for the due date the pilot waits for, to a later date', () => {
    expect(check('extendDueDate', inProgress, extension(new Date(NOW + 120_000).toISOString()))).toBeNull();
  });
  test('refused for a step not pending, or a date not later than the due date and now', () => {
    expect(check('extendDueDate', inProgress, extension(new Date(NOW + 120_000).toISOString(), 'final-report'))).toBe(
      'NOTHING_TO_EXTEND',
    );
    expect(check('extendDueDate', inProgress, extension(due))).toBe('EXTENSION_NOT_LATER');
    const overdue = pilot('in_progress', (s) => (s.due.midtermReport = new Date(NOW - 60_000).toISOString()));
    expect(check('extendDueDate', overdue, extension(new Date(NOW - 1000).toISOString()))).toBe('EXTENSION_NOT_LATER');
  });
});

describe('endings and ended pilots', () => {
  test('withdrawal and the integrity flag are allowed in every phase before the end', () => {
    for (const phase of ['registered', 'under_review', 'in_progress', 'acceptance_review'] as const) {
      expect(check('withdraw', pilot(phase), { reason: '主动退出' })).toBeNull();
      expect(check('flagIntegrity', pilot(phase), { reason: '弄虚作假' })).toBeNull();
    }
  });
  test('an ended pilot takes no action but finance’s confirmation', () => {
    const ended = STAFF_ACTION_NAMES.filter((n) => !STAFF_ACTIONS[n].afterEnd);
    for (const name of ended) {
      expect(refusalOf(name, pilot('closed'), call, {} as never, NOW)).toEqual({
        code: 'PILOT_ENDED',
      });
    }
    // After the deadline passed without a submission, the clerk is told why.
    expect(check('submit', pilot('expired'), submission)).toBe('SUBMISSION_DEADLINE_PASSED');
    expect(check('withdraw', pilot('expired'), { reason: 'x' })).toBe('SUBMISSION_DEADLINE_PASSED');
  });
});

describe('input shapes', () => {
  const actor = { id: 'clerk', role: 'staff' as const };
  test('a well-formed input with its actor (and the time it was requested) is accepted', () => {
    const input = { reason: '主动退出', actor, requestedAt: '2020-06-01T01:00:00.000Z' };
    expect(parseActing(STAFF_ACTIONS.withdraw.schema, input)).toEqual({ ok: true, value: input });
  });
  test('a missing actor, a wrong shape or a NUL character is VALIDATION_FAILED', () => {
    for (const input of [{ reason: 'x' }, { reason: 3, actor }, { reason: 'a\u0000b', actor }, null]) {
      const parsed = parseActing(STAFF_ACTIONS.withdraw.schema, input);
      expect(parsed.ok ? null : parsed.refusal.code).toBe('VALIDATION_FAILED');
    }
  });
  test('an input not in its normal form is refused, naming the field: handlers store inputs as they come', () => {
    const refusalOfInput = (input: unknown, name: StaffActionName = 'withdraw') => {
      const parsed = parseActing(STAFF_ACTIONS[name].schema, input);
      return parsed.ok ? null : parsed.refusal;
    };
    expect(refusalOfInput({ reason: '  主动退出 ', actor })).toEqual({
      code: 'VALIDATION_FAILED',
      detail: 'reason: not in normal form (trimmed, UTC, known fields)',
    });
    expect(refusalOfInput({ reason: '退出', actor, extra: 1 })?.detail).toMatch(/^extra:/);
    // A calendar date is a Beijing date: it has to arrive as the UTC instant it stands for.
    const extension = { which: 'midterm-report', reason: '疫情', actor };
    expect(refusalOfInput({ ...extension, until: '2020-06-10' }, 'extendDueDate')?.detail).toMatch(/^until:/);
    expect(refusalOfInput({ ...extension, until: '2020-06-10T15:59:59.999Z' }, 'extendDueDate')).toBeNull();
  });
});

describe('voidTranche and closeReclaim', () => {
  const voiding = (t: 'first' | 'tail' = 'first') => ({ tranche: t, reason: '未执行' });
  test('an open instruction of a pilot that has ended can be voided, not one of a running pilot', () => {
    expect(check('voidTranche', pilot('withdrawn', withTranches('issued', 'withheld')), voiding())).toBeNull();
    expect(check('voidTranche', pilot('closed', withTranches('confirmed', 'issued')), voiding('tail'))).toBeNull();
    expect(check('voidTranche', pilot('in_progress', withTranches('issued')), voiding())).toBe('PILOT_STILL_RUNNING');
  });
  test('confirm and void exclude each other; nothing not instructed is voided', () => {
    expect(check('voidTranche', pilot('withdrawn', withTranches('confirmed', 'withheld')), voiding())).toBe(
      'TRANCHE_ALREADY_CONFIRMED',
    );
    const voided = pilot('withdrawn', withTranches('voided', 'withheld'));
    expect(check('voidTranche', voided, voiding())).toBe('TRANCHE_VOIDED');
    expect(check('confirmTranche', voided, { tranche: 'first', reference: 'BANK-1' })).toBe('TRANCHE_VOIDED');
    expect(check('voidTranche', pilot('withdrawn', withTranches('issued', 'withheld')), voiding('tail'))).toBe(
      'TRANCHE_NOT_ISSUED',
    );
    expect(check('voidTranche', pilot('tail_withheld', withTranches('confirmed', 'withheld')), voiding('tail'))).toBe(
      'TRANCHE_NOT_ISSUED',
    );
  });
  test('while the ledger is being written for a tranche, other money actions on it wait (TRANCHE_BUSY)', () => {
    const busy = pilot('withdrawn', (s) => {
      withTranches('issued', 'withheld')(s);
      s.tranches!.first.inFlight = 'confirm';
    });
    expect(check('voidTranche', busy, voiding())).toBe('TRANCHE_BUSY');
    expect(check('confirmTranche', busy, { tranche: 'first', reference: 'BANK-1' })).toBe('TRANCHE_BUSY');
  });
  test('a reclaim is closed once, and only when open', () => {
    const closing = { tranche: 'first' as const, reference: 'REPAID-1' };
    const paid = (reclaim: TrancheState['reclaim']) =>
      pilot('integrity_failed', (s) => {
        withTranches('confirmed', 'withheld')(s);
        s.tranches!.first.reclaim = reclaim;
      });
    const open = { amountFen: 175_000_00, openedAt: done.at, reason: '弄虚作假', closed: null };
    expect(check('closeReclaim', paid(open), closing)).toBeNull();
    expect(check('closeReclaim', paid(null), closing)).toBe('RECLAIM_NOT_OPEN');
    expect(check('closeReclaim', paid({ ...open, closed: { reference: 'R', ...done } }), closing)).toBe(
      'RECLAIM_ALREADY_CLOSED',
    );
  });
});
