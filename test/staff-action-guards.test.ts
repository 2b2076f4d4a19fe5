/**
 * The phase guard of every staff action, as the pure function the workflow's validators run: each
 * refusal a clerk can meet is reachable, and each allowed case is allowed. No server involved.
 */
import { CallInput, type Call } from '../domain/call';
import { initialPilotState, type Done, type PilotPhase, type PilotState, type TrancheState } from '../domain/pilot';
import { formIssuesAgainst } from '../domain/application-form';
import { STAFF_ACTION_SCHEMAS, parseActing } from '../domain/staff-action-schemas';
import {
  STAFF_ACTION_NAMES,
  STAFF_ACTIONS,
  checkActing,
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

const submission = { formHash: 'b'.repeat(64), themes: ['基层组织改革' as const], pdf };
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
  test('refused when it arrived after the deadline (24:00 Beijing time of the deadline day)', () => {
    const arrived = (receivedAt: string) => ({ ...submission, receivedAt });
    const entered = Date.parse('2020-06-12T02:00:00Z');
    expect(check('submit', pilot(), submission, Date.parse('2020-06-10T16:00:00Z'))).toBe('SUBMISSION_LATE');
    expect(check('submit', pilot(), submission, Date.parse('2020-06-10T15:59:59Z'))).toBeNull();
    // Judged by arrival: on time at 23:59:59 Beijing, keyed in two days later within the entry period.
    expect(check('submit', pilot(), arrived('2020-06-10T15:59:59.000Z'), entered)).toBeNull();
    expect(check('submit', pilot(), arrived('2020-06-10T16:00:00.000Z'), entered)).toBe('SUBMISSION_LATE');
    expect(check('submit', pilot(), arrived('2020-06-12T03:00:00.000Z'), entered)).toBe('RECEIVED_IN_FUTURE');
    // The entry period (14 days by default) ends; pilots started before it existed end entry at the deadline.
    expect(check('submit', pilot(), arrived('2020-06-10T15:59:59.000Z'), Date.parse('2020-06-24T16:00:00Z'))).toBe(
      'ENTRY_PERIOD_ENDED',
    );
    const before = pilot('registered', (s) => {
      s.entryUntil = null;
    });
    expect(check('submit', before, arrived('2020-06-10T15:59:59.000Z'), entered)).toBe('SUBMISSION_DEADLINE_PASSED');
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
  test('a form naming other units than the registration has issues (the API refuses it before the workflow)', () => {
    const registered = { pilotUnitName: '杭州市科协', applicantUnitName: APPLICANT_UNIT, provincial: false };
    const received = new Date('2020-06-08T02:00:00Z');
    expect(formIssuesAgainst(validForm('杭州市科协'), call, registered, received)).toEqual([]);
    expect(formIssuesAgainst(validForm('宁波市科协'), call, registered, received).map((i) => i.path)).toEqual([
      'basic.pilotUnit',
    ]);
  });
  test('refused when the PDF is not named after the applicant unit', () => {
    expect(check('submit', pilot(), { ...submission, pdf: { ...pdf, fileName: '申报书.pdf' } })).toBe('PDF_WRONG_NAME');
    expect(check('submit', pilot(), { ...submission, pdf: { ...pdf, fileName: `${APPLICANT_UNIT}.PDF` } })).toBeNull();
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
  test('an expert from the pilot’s province recuses (回避), the province compared by its code', () => {
    expect(check('recordExpertScore', pilot('submitted'), score('浙江'))).toBe('EXPERT_CONFLICT_OF_INTEREST');
    const coded = (s: PilotState) => {
      s.province = '330000';
    };
    for (const province of ['浙江', '浙江省', '330000']) {
      expect(check('recordExpertScore', pilot('submitted'), score(province))).toBe('EXPERT_CONFLICT_OF_INTEREST');
      expect(check('recordExpertScore', pilot('submitted', coded), score(province))).toBe(
        'EXPERT_CONFLICT_OF_INTEREST',
      );
    }
    expect(check('recordExpertScore', pilot('submitted', coded), score('320000'))).toBeNull();
    // A pilot registered before provinces were codes, with free text: when in doubt, recuse.
    const freeText = (s: PilotState) => {
      s.province = '新疆兵团';
    };
    expect(check('recordExpertScore', pilot('submitted', freeText), score('650000'))).toBe(
      'EXPERT_CONFLICT_OF_INTEREST',
    );
    expect(check('recordExpertScore', pilot('submitted', freeText), score('660000'))).toBe(
      'EXPERT_CONFLICT_OF_INTEREST',
    );
    expect(check('recordExpertScore', pilot('submitted', freeText), score('320000'))).toBeNull();
  });
  test('an expert scores once per review round', () => {
    expect(check('recordExpertScore', pilot('under_review', scored(1)), score('江苏', 'e0'))).toBe(
      'EXPERT_ALREADY_SCORED',
    );
    // After an objection (a new round), the scores of the earlier round no longer count.
    const newRound = (s: PilotState) => {
      s.expertScores.push({ ...score('江苏', 'e0'), ...done, round: 0 });
      s.objections.push({ reason: '异议', ...done });
    };
    expect(check('recordExpertScore', pilot('under_review', newRound), score('江苏', 'e0'))).toBeNull();
    expect(check('decideReview', pilot('under_review', newRound), approve())).toBe('NOT_ENOUGH_EXPERT_SCORES');
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
  const refusalOfInput = (input: unknown, name: StaffActionName = 'withdraw') => {
    const checked = checkActing(name, input);
    return checked.ok ? null : checked.refusal;
  };
  test('a well-formed input with its actor (and the time it was requested) is accepted', () => {
    const input = { reason: '主动退出', actor, requestedAt: '2020-06-01T01:00:00.000Z' };
    expect(checkActing('withdraw', input)).toEqual({ ok: true, value: input });
  });
  test('a missing actor, a wrong shape or a NUL character is VALIDATION_FAILED', () => {
    for (const input of [{ reason: 'x' }, { reason: 3, actor }, { reason: 'a\u0000b', actor }, null, []]) {
      expect(refusalOfInput(input)?.code).toBe('VALIDATION_FAILED');
    }
    expect(refusalOfInput({ reason: 'x', actor: { id: 'clerk', role: 'root' } })?.detail).toMatch(/^actor\.role:/);
  });
  test('an input not in its normal form is refused, naming the field: handlers store inputs as they come', () => {
    expect(refusalOfInput({ reason: '  主动退出 ', actor })).toEqual({
      code: 'VALIDATION_FAILED',
      detail: 'reason: not in normal form (trimmed)',
    });
    expect(refusalOfInput({ reason: '退出', actor, extra: 1 })?.detail).toMatch(/^extra:/);
    // A calendar date is a Beijing date: it has to arrive as the UTC instant it stands for.
    const extension = { which: 'midterm-report', reason: '疫情', actor };
    expect(refusalOfInput({ ...extension, until: '2020-06-10' }, 'extendDueDate')?.detail).toMatch(/^until:/);
    expect(refusalOfInput({ ...extension, until: '2020-06-10T15:59:59.999Z' }, 'extendDueDate')).toBeNull();
    // Only real instants: the workflow prints every due date it keeps.
    expect(refusalOfInput({ ...extension, until: '2021-13-01T00:00:00.000Z' }, 'extendDueDate')?.detail).toMatch(
      /^until:/,
    );
  });
  test('keys of Object.prototype are neither fields nor variants', () => {
    expect(refusalOfInput({ reason: '退出', actor, constructor: 1 })?.detail).toMatch(/^constructor:/);
    expect(refusalOfInput({ outcome: 'hasOwnProperty', reason: 'x', actor }, 'decideReview')?.code).toBe(
      'VALIDATION_FAILED',
    );
    // The form's themes, each once.
    const twice = { ...submission, themes: ['基层组织改革', '基层组织改革'], actor };
    expect(refusalOfInput(twice, 'submit')?.detail).toMatch(/^themes:/);
  });

  /** One input per action as the API sends it: parsed by the full schema, in normal form. */
  const EXAMPLES: { [N in StaffActionName]: StaffActionInput<N>[] } = {
    submit: [submission],
    recordExpertScore: [score('320000'), { ...score('320000'), score: 87.5 }],
    decideReview: [approve(), { outcome: 'rejected', reason: '不符合条件' }],
    raiseObjection: [{ reason: '材料不实' }],
    confirmTranche: [{ tranche: 'first', reference: 'BANK-1' }],
    voidTranche: [{ tranche: 'tail', reason: '未执行' }],
    closeReclaim: [{ tranche: 'first', reference: 'BACK-1' }],
    submitMidtermReport: [{ reference: '中期报告.pdf' }],
    evaluateMidterm: [passed, { outcome: 'failed', reason: '未达标' }],
    submitFinalReport: [{ reportReference: '报告.pdf', ...FINAL }],
    decideAcceptance: [passed],
    submitRectification: [{ reference: '整改.pdf' }],
    extendDueDate: [{ which: 'acceptance', until: '2021-07-31T15:59:59.999Z', reason: '延期' }],
    withdraw: [{ reason: '主动退出' }],
    flagIntegrity: [{ reason: '弄虚作假' }],
  };
  test.each(STAFF_ACTION_NAMES)('%s: what the full schema accepts, the workflow’s light check accepts', (name) => {
    for (const example of EXAMPLES[name]) {
      const input = { ...example, actor, requestedAt: '2020-06-01T01:00:00.000Z' };
      expect(parseActing(STAFF_ACTION_SCHEMAS[name], input)).toMatchObject({ ok: true });
      expect(refusalOfInput(input, name)).toBeNull();
      // Every field is required or bounded: dropping one, or adding an unknown one, is refused.
      const [first] = Object.keys(example);
      const { [first!]: _dropped, ...without } = input as Record<string, unknown>;
      expect(refusalOfInput(without, name)?.code).toBe('VALIDATION_FAILED');
      expect(refusalOfInput({ ...input, unknown: 1 }, name)?.code).toBe('VALIDATION_FAILED');
    }
  });
});
