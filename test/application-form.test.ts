/**
 * The application form (申报书) and its sealed PDF: a complete valid example passes; each rule
 * has a failing example with the field path and code a clerk sees.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import {
  ApplicationForm,
  ApplicationFormV1,
  formIssuesAgainst,
  formVersionOf,
  isFormV2,
  pdfNameMatches,
  type Opinion,
} from '../domain/application-form';
import { parsePhone } from '../domain/phone';
import { APPLICANT_UNIT, pdfBytes, submissionBody, validForm } from './support/application';
import { quietHistory, readHistory } from './support/history';
import { openCall, registerPilot } from './support/pilots';
import { call, registration, startStack, uniqueId, type Stack } from './support/stack';

type Form = ReturnType<typeof validForm>;
type Mutation = (form: Form) => void;
/** Lets a test write what a client may send but the output type does not allow. */
type Loose<T> = { -readonly [K in keyof T]: T[K] extends object ? Loose<T[K]> | unknown : unknown };

function parse(mutate: Mutation) {
  const form = validForm('杭州市科协');
  mutate(form);
  return ApplicationForm.safeParse(form);
}

function issuesOf(mutate: Mutation) {
  const parsed = parse(mutate);
  return parsed.success ? [] : parsed.error.issues.map((i) => [i.path.join('.'), i.code]);
}

/** The messages a clerk reads, by field path. */
function messagesOf(mutate: Mutation) {
  const parsed = parse(mutate);
  return parsed.success ? [] : parsed.error.issues.map((i) => [i.path.join('.'), i.message]);
}

function accepted(mutate: Mutation): Form {
  const parsed = parse(mutate);
  if (!parsed.success) throw new Error(JSON.stringify(parsed.error.issues));
  return parsed.data;
}

const CALL = { period: { start: '2020-07', end: '2021-07' } };
const REGISTERED = { pilotUnitName: '杭州市科协', applicantUnitName: APPLICANT_UNIT, provincial: false };
/** 2020-06-08 10:00 Beijing time. */
const RECEIVED = new Date('2020-06-08T02:00:00Z');

function againstIssues(mutate: Mutation, submittedAt = RECEIVED) {
  return formIssuesAgainst(accepted(mutate), CALL, REGISTERED, submittedAt).map((i) => [i.path, i.code]);
}

describe('the form schema', () => {
  test('a complete valid form passes, and "/" is an explicit empty box', () => {
    expect(issuesOf(() => undefined)).toEqual([]);
    expect(
      issuesOf((f) => {
        f.basic.highlights = '/';
        f.basic.applicantHead.fax = '/';
      }),
    ).toEqual([]);
    expect(
      formIssuesAgainst(
        accepted(() => undefined),
        CALL,
        REGISTERED,
        RECEIVED,
      ),
    ).toEqual([]);
  });

  test.each<[string, Mutation, string, string]>([
    ['mobile', (f) => (f.basic.applicantHead.mobile = '1380013800'), 'basic.applicantHead.mobile', 'custom'],
    ['mobile prefix', (f) => (f.basic.pilotHead.mobile = '12800138000'), 'basic.pilotHead.mobile', 'custom'],
    ['office phone', (f) => (f.basic.pilotHead.officePhone = '8765'), 'basic.pilotHead.officePhone', 'custom'],
    ['fax', (f) => (f.basic.applicantHead.fax = ''), 'basic.applicantHead.fax', 'too_small'],
    ['e-mail', (f) => (f.basic.applicantHead.email = 'wang@'), 'basic.applicantHead.email', 'invalid_format'],
    ['postcode', (f) => (f.basic.applicantHead.postcode = '31001'), 'basic.applicantHead.postcode', 'invalid_format'],
    ['year-month', (f) => (f.basic.period.start = '2020-13'), 'basic.period.start', 'invalid_format'],
    ['period order', (f) => (f.basic.period.end = '2020-06'), 'basic.period.end', 'custom'],
    ['birth year-month', (f) => (f.lead.birth = '1975/03'), 'lead.birth', 'invalid_format'],
    ['empty box', (f) => (f.content = '  '), 'content', 'too_small'],
    ['empty plan', (f) => (f.plan.publicityPlan = ''), 'plan.publicityPlan', 'too_small'],
    [
      'seal',
      (f) => ((f.basic.applicantOpinion as { sealed: boolean }).sealed = false),
      'basic.applicantOpinion.sealed',
      'invalid_value',
    ],
    [
      'opinion date',
      (f) => (f.basic.applicantOpinion.date = '2020-6-5'),
      'basic.applicantOpinion.date',
      'invalid_format',
    ],
    ['pilot unit opinion', (f) => delete f.basic.pilotUnitOpinion, 'basic.pilotUnitOpinion', 'custom'],
    ['same units', (f) => (f.basic.pilotUnit = f.basic.applicantUnit), 'basic.pilotUnit', 'custom'],
    ['sex', (f) => ((f.lead as { sex: string }).sex = '未知'), 'lead.sex', 'invalid_value'],
    ['team', (f) => (f.team = []), 'team', 'too_small'],
    ['theme', (f) => ((f.themes as string[]) = ['其他']), 'themes.0', 'invalid_value'],
    ['no theme', (f) => (f.themes = []), 'themes', 'too_small'],
    ['theme twice', (f) => (f.themes = ['科普公共服务', '科普公共服务']), 'themes', 'custom'],
  ])('%s', (_rule, mutate, path, code) => {
    expect(issuesOf(mutate)).toEqual([[path, code]]);
  });

  test('a provincial pilot may share its unit with the applicant and has no separate opinion', () => {
    expect(
      issuesOf((f) => {
        f.basic.provincial = true;
        f.basic.pilotUnit = f.basic.applicantUnit;
        delete f.basic.pilotUnitOpinion;
      }),
    ).toEqual([]);
    expect(issuesOf((f) => (f.basic.provincial = true))).toEqual([['basic.pilotUnitOpinion', 'custom']]);
  });

  test('the period lies inside the call’s, and the units are the registered ones', () => {
    const form = validForm('杭州市科协');
    form.basic.period = { start: '2020-05', end: '2021-08' };
    const registered = { pilotUnitName: '宁波市科协', applicantUnitName: APPLICANT_UNIT, provincial: false };
    expect(formIssuesAgainst(form, CALL, registered, RECEIVED).map((i) => [i.path, i.code])).toEqual([
      ['basic.period.start', 'out_of_call_period'],
      ['basic.period.end', 'out_of_call_period'],
      ['basic.pilotUnit', 'not_registered_unit'],
    ]);
  });
});

describe('试点内容 is one box', () => {
  test('one text holds purpose, significance, content and foundation', () => {
    expect(accepted((f) => (f.content = '目的、意义、内容、当前工作基础，写在一栏。')).content).toBe(
      '目的、意义、内容、当前工作基础，写在一栏。',
    );
  });
  test('the four fields of version 1 are no longer the box', () => {
    expect(
      issuesOf(
        (f) =>
          ((f as Loose<Form>).content = { purpose: '目的', significance: '意义', content: '内容', foundation: '基础' }),
      ),
    ).toEqual([['content', 'invalid_type']]);
  });
  test('the printed prompts are the box’s description (the API docs show them)', () => {
    const content = z.toJSONSchema(ApplicationForm, { io: 'input' }).properties?.content;
    expect(content).toMatchObject({ description: expect.stringContaining('含目的、意义、内容，当前工作基础等') });
  });
});

describe('the opinions are choices: recommend and accurate', () => {
  test('an opinion that recommends and confirms the form is accepted', () => {
    const form = accepted(() => undefined);
    expect(form.basic.applicantOpinion).toMatchObject({ recommend: true, accurate: true, sealed: true });
  });
  test.each<[string, Mutation, string, string]>([
    [
      'the applicant unit does not recommend',
      (f) => (f.basic.applicantOpinion.recommend = false),
      'basic.applicantOpinion.recommend',
      '申报单位不同意推荐，不能申报 / the applicant unit does not recommend the pilot',
    ],
    [
      'the applicant unit does not confirm the content',
      (f) => (f.basic.applicantOpinion.accurate = false),
      'basic.applicantOpinion.accurate',
      '申报单位未确认申报书所填内容准确，不能申报 / the applicant unit does not confirm that the form is accurate',
    ],
    [
      'the pilot unit does not recommend',
      (f) => ((f.basic.pilotUnitOpinion as Opinion).recommend = false),
      'basic.pilotUnitOpinion.recommend',
      '试点单位不同意推荐，不能申报 / the pilot unit does not recommend the pilot',
    ],
    [
      'the pilot unit does not confirm the content',
      (f) => ((f.basic.pilotUnitOpinion as Opinion).accurate = false),
      'basic.pilotUnitOpinion.accurate',
      '试点单位未确认申报书所填内容准确，不能申报 / the pilot unit does not confirm that the form is accurate',
    ],
  ])('%s: refused', (_rule, mutate, path, message) => {
    expect(messagesOf(mutate)).toEqual([[path, message]]);
  });
  test('the choice must be made: a missing choice is refused', () => {
    expect(issuesOf((f) => delete (f.basic.applicantOpinion as Partial<Opinion>).recommend)).toEqual([
      ['basic.applicantOpinion.recommend', 'invalid_type'],
    ]);
  });
});

describe('the cover’s year and month (封面 年 月)', () => {
  test('accepted up to the month the application is received', () => {
    expect(againstIssues((f) => (f.cover.date = '2020-06'))).toEqual([]);
    expect(againstIssues((f) => (f.cover.date = '2020-05'))).toEqual([]);
  });
  test('required, a real year-month, not after the month received', () => {
    expect(issuesOf((f) => delete (f as Partial<Form>).cover)).toEqual([['cover', 'invalid_type']]);
    expect(issuesOf((f) => (f.cover.date = '2020-13'))).toEqual([['cover.date', 'invalid_format']]);
    expect(againstIssues((f) => (f.cover.date = '2020-07'))).toEqual([['cover.date', 'after_submission']]);
  });
});

describe('"/" in every box, full-width too', () => {
  test('"／" is kept as "/"', () => {
    const form = accepted((f) => {
      f.basic.highlights = '／';
      f.plan.publicityPlan = ' ／ ';
      f.basic.applicantHead.fax = '／';
      f.lead.title = '／';
    });
    expect([form.basic.highlights, form.plan.publicityPlan, form.basic.applicantHead.fax, form.lead.title]).toEqual([
      '/',
      '/',
      '/',
      '/',
    ]);
  });
  test('a provincial pilot’s own-opinion box may be "/" or "／" or left out', () => {
    const provincial = (opinion: unknown) => (f: Form) => {
      f.basic.provincial = true;
      f.basic.pilotUnit = f.basic.applicantUnit;
      (f.basic as Loose<Form['basic']>).pilotUnitOpinion = opinion;
    };
    expect(accepted(provincial('/')).basic.pilotUnitOpinion).toBe('/');
    expect(accepted(provincial('／')).basic.pilotUnitOpinion).toBe('/');
    expect(accepted(provincial(undefined)).basic.pilotUnitOpinion).toBeUndefined();
    expect(
      messagesOf(provincial({ ...validForm('x').basic.applicantOpinion, signer: '王建国' })).map(([path]) => path),
    ).toEqual(['basic.pilotUnitOpinion']);
  });
  test('a pilot that is not provincial cannot put "/" for the pilot unit’s opinion', () => {
    expect(messagesOf((f) => ((f.basic as Loose<Form['basic']>).pilotUnitOpinion = '/'))).toEqual([
      [
        'basic.pilotUnitOpinion',
        '试点单位意见必填（仅省级试点填"/"） / the pilot unit’s opinion is required ("/" only for a provincial pilot)',
      ],
    ]);
  });
  test('a head without mobile, e-mail or fax writes "/", but not for both telephones', () => {
    expect(
      issuesOf((f) => {
        f.basic.pilotHead.mobile = '/';
        f.basic.pilotHead.email = '／';
        f.basic.pilotHead.fax = '/';
      }),
    ).toEqual([]);
    expect(
      issuesOf((f) => {
        f.basic.pilotHead.mobile = '/';
        f.basic.pilotHead.officePhone = '/';
      }),
    ).toEqual([['basic.pilotHead.officePhone', 'custom']]);
  });
  test('names, units and addresses need real content, not "/"', () => {
    expect(
      messagesOf((f) => {
        f.basic.applicantHead.name = '/';
        f.basic.pilotHead.address = '／';
        f.team[0]!.name = '/';
      }),
    ).toEqual([
      ['basic.applicantHead.name', '此栏须填写实际内容，不能填"/" / this box needs real content, not "/"'],
      ['basic.pilotHead.address', '此栏须填写实际内容，不能填"/" / this box needs real content, not "/"'],
      ['team.0.name', '此栏须填写实际内容，不能填"/" / this box needs real content, not "/"'],
    ]);
  });
});

describe('telephone boxes take the usual Chinese forms', () => {
  test.each([
    '(010)68572088',
    '（010）68572088',
    '010 68572088',
    '010-68572088',
    '010-68572088-123',
    '0571-8888888-12',
    '0571 8765 4321',
    '010-68572088 转 123',
    '400-810-8888',
    '800 810 8888',
    '+86-10-68572088',
    '+86 10 6857 2088',
    '0086 571 87654321',
    '68572088',
  ])('office phone and fax %s: accepted', (phone) => {
    expect(
      issuesOf((f) => {
        f.basic.applicantHead.officePhone = phone;
        f.basic.applicantHead.fax = phone;
      }),
    ).toEqual([]);
  });
  test.each([
    '13800138000',
    '138 0013 8000',
    '138-0013-8000',
    '+86 138 0013 8000',
    '+8613800138000',
    '１３８００１３８０００',
  ])('mobile %s: accepted', (mobile) => {
    expect(issuesOf((f) => (f.basic.applicantHead.mobile = mobile))).toEqual([]);
  });
  test.each([
    '12345',
    '010-ABCDEFGH',
    'tel 68572088',
    '010-68572088-1234567',
    '0106857208812345678',
    '+1 212 555 0100',
    '010-(6857)-2088-(1)',
  ])('office phone %s: refused', (phone) => {
    expect(messagesOf((f) => (f.basic.applicantHead.officePhone = phone))).toEqual([
      ['basic.applicantHead.officePhone', expect.stringContaining('电话号码')],
    ]);
  });
  test.each(['12345', '010-68572088', '138001380001', '13800138000-12', '+86 12800138000'])(
    'mobile %s: refused',
    (mobile) => {
      expect(messagesOf((f) => (f.basic.applicantHead.mobile = mobile))).toEqual([
        ['basic.applicantHead.mobile', expect.stringContaining('手机号码')],
      ]);
    },
  );
  test('what was written stays readable, made half-width', () => {
    const form = accepted((f) => {
      f.basic.applicantHead.officePhone = '（０１０）６８５７２０８８';
      f.basic.applicantHead.mobile = '+86  138 0013 8000';
    });
    expect([form.basic.applicantHead.officePhone, form.basic.applicantHead.mobile]).toEqual([
      '(010)68572088',
      '+86 138 0013 8000',
    ]);
  });
  test('parsePhone reads the number and its extension', () => {
    expect(parsePhone('010-68572088-123')).toEqual({ kind: 'landline', national: '01068572088', extension: '123' });
    expect(parsePhone('400-810-8888')).toEqual({ kind: 'service', national: '4008108888', extension: null });
    expect(parsePhone('+86-10-68572088')).toEqual({ kind: 'landline', national: '01068572088', extension: null });
    expect(parsePhone('+86 138 0013 8000')).toEqual({ kind: 'mobile', national: '13800138000', extension: null });
    expect(parsePhone('12345')).toBeNull();
  });
});

describe('dates are real days, not after the application was received', () => {
  test('real dates up to the day received (Beijing time) are accepted', () => {
    expect(issuesOf((f) => (f.basic.applicantOpinion.date = '2020-02-29'))).toEqual([]);
    // Received 2020-06-08 23:30 UTC, already 06-09 in Beijing: an opinion dated 06-09 is not in the future.
    expect(
      againstIssues((f) => (f.basic.applicantOpinion.date = '2020-06-09'), new Date('2020-06-08T23:30:00Z')),
    ).toEqual([]);
    expect(againstIssues((f) => (f.basic.applicantOpinion.date = '2020-06-08'))).toEqual([]);
  });
  test('a day the calendar does not have is refused', () => {
    expect(messagesOf((f) => (f.basic.applicantOpinion.date = '2020-02-31'))).toEqual([
      ['basic.applicantOpinion.date', '日期不存在 / not a real calendar date'],
    ]);
    expect(issuesOf((f) => ((f.basic.pilotUnitOpinion as Opinion).date = '2021-02-29'))).toEqual([
      ['basic.pilotUnitOpinion.date', 'custom'],
    ]);
  });
  test('dates after the day received are refused, with the day named', () => {
    expect(againstIssues((f) => (f.basic.applicantOpinion.date = '2099-01-01'))).toEqual([
      ['basic.applicantOpinion.date', 'after_submission'],
    ]);
    expect(againstIssues((f) => ((f.basic.pilotUnitOpinion as Opinion).date = '2020-06-09'))).toEqual([
      ['basic.pilotUnitOpinion.date', 'after_submission'],
    ]);
    const [issue] = formIssuesAgainst(
      accepted((f) => (f.basic.applicantOpinion.date = '2099-01-01')),
      CALL,
      REGISTERED,
      RECEIVED,
    );
    expect(issue!.message).toBe(
      '不能晚于收到申报书的日期 2020-06-08（北京时间） / not after 2020-06-08, when the application was received (Beijing time)',
    );
  });
  test('a birth year-month in the future is refused, the past accepted', () => {
    expect(againstIssues((f) => (f.lead.birth = '2020-06'))).toEqual([]);
    expect(
      againstIssues((f) => {
        f.lead.birth = '2099-01';
        f.team[0]!.birth = '2020-07';
      }),
    ).toEqual([
      ['lead.birth', 'after_submission'],
      ['team.0.birth', 'after_submission'],
    ]);
  });
});

describe('versions: version 1 stays readable, version 2 is the form as printed', () => {
  /** A form as version 1 accepted it (and as older histories and the database hold it). */
  function v1Form() {
    const { formVersion: _version, cover: _cover, content: _content, ...v2 } = validForm('杭州市科协');
    const opinion = { text: '同意推荐。', signer: '王建国', sealed: true, date: '2020-06-05' };
    return {
      ...v2,
      basic: { ...v2.basic, applicantOpinion: opinion, pilotUnitOpinion: { ...opinion, signer: '李红梅' } },
      content: { purpose: '目的', significance: '意义', content: '内容', foundation: '基础' },
    };
  }

  test('ApplicationFormV1 reads a version-1 form as before, and tells nothing of version 2', () => {
    expect(ApplicationFormV1.safeParse(v1Form()).success).toBe(true);
    expect(ApplicationFormV1.parse(v1Form())).not.toHaveProperty('formVersion');
  });
  test('input without formVersion is version 2, and the output says 2', () => {
    const { formVersion: _version, ...withoutVersion } = validForm('杭州市科协');
    const parsed = ApplicationForm.parse(withoutVersion);
    expect(parsed.formVersion).toBe(2);
    expect(formVersionOf(parsed)).toBe(2);
    expect(formVersionOf(JSON.parse(JSON.stringify(parsed)))).toBe(2);
  });
  test('another formVersion, or a version-1 form, is refused by the version-2 schema', () => {
    expect(issuesOf((f) => ((f as Loose<Form>).formVersion = 1))).toEqual([['formVersion', 'invalid_value']]);
    expect(ApplicationForm.safeParse(v1Form()).success).toBe(false);
  });
  test('formVersionOf tells stored forms apart', () => {
    const v1 = ApplicationFormV1.parse(v1Form());
    expect(formVersionOf(v1)).toBe(1);
    expect(isFormV2(v1)).toBe(false);
    expect(isFormV2(accepted(() => undefined))).toBe(true);
    expect([formVersionOf(null), formVersionOf('form'), formVersionOf([]), formVersionOf({ formVersion: 3 })]).toEqual([
      null,
      null,
      null,
      null,
    ]);
  });
});

describe('the PDF’s name', () => {
  test('the extension’s case does not matter, the unit’s name does', () => {
    expect(pdfNameMatches(`${APPLICANT_UNIT}.PDF`, APPLICANT_UNIT)).toBe(true);
    expect(pdfNameMatches(`${APPLICANT_UNIT}.Pdf`, APPLICANT_UNIT)).toBe(true);
    expect(pdfNameMatches('申报书.pdf', APPLICANT_UNIT)).toBe(false);
  });
});

describe('submission over HTTP with the sealed PDF', () => {
  let stack: Stack;
  let callId: string;
  beforeAll(async () => {
    stack = await startStack();
    callId = await openCall(stack);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const unitNameOf = (pilotId: string) => `${pilotId.split('.')[1]} 市科协`;
  const submitWith = (pilotId: string, body: FormData) => call(stack, 'POST', `/pilots/${pilotId}/submission`, body);

  test('form errors come back with their paths under "form", and change nothing', async () => {
    const pilotId = await registerPilot(stack, callId);
    const form = validForm(unitNameOf(pilotId));
    form.basic.pilotHead.postcode = '1234567';
    form.basic.period.end = '2021-09';
    const before = await quietHistory(stack.client, pilotId);

    const bad = await submitWith(pilotId, submissionBody(form, pdfBytes()));
    expect(bad.status).toBe(422);
    expect(bad.contentType).toMatch(/application\/problem\+json/);
    expect(bad.body).toMatchObject({
      code: 'VALIDATION_FAILED',
      message: '请求内容不符合要求',
      errors: [{ path: 'form.basic.pilotHead.postcode', code: 'invalid_format' }],
    });
    form.basic.pilotHead.postcode = '310000';
    const outside = await submitWith(pilotId, submissionBody(form, pdfBytes()));
    expect(outside.status).toBe(422);
    expect(outside.body.errors).toEqual([
      expect.objectContaining({ path: 'form.basic.period.end', code: 'out_of_call_period' }),
    ]);
    const notJson = await submitWith(pilotId, submissionBody('{"basic":', pdfBytes()));
    expect(notJson.status).toBe(422);
    expect(notJson.body.errors).toEqual([expect.objectContaining({ path: 'form', code: 'invalid_json' })]);

    expect((await readHistory(stack.client, pilotId)).eventCount).toBe(before.eventCount);
  });

  test('the PDF must be a real PDF, named after the applicant unit, and not too large', async () => {
    const pilotId = await registerPilot(stack, callId);
    const form = validForm(unitNameOf(pilotId));

    const notPdf = await submitWith(pilotId, submissionBody(form, Buffer.from('PK\u0003\u0004 a zip file')));
    expect([notPdf.status, notPdf.body.code]).toEqual([422, 'PDF_NOT_PDF']);
    const wrongName = await submitWith(pilotId, submissionBody(form, pdfBytes(), '申报书.pdf'));
    expect([wrongName.status, wrongName.body.code]).toEqual([422, 'PDF_WRONG_NAME']);
    expect(wrongName.body.detail).toBe(`expected ${APPLICANT_UNIT}.pdf`);
    const tooLarge = await submitWith(
      pilotId,
      submissionBody(form, Buffer.concat([pdfBytes(), Buffer.alloc(70 * 1024)])),
    );
    expect([tooLarge.status, tooLarge.body.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
    const missing = await submitWith(pilotId, submissionBody(form, null));
    expect([missing.status, missing.body.code]).toEqual([422, 'PDF_REQUIRED']);
    const json = await call(stack, 'POST', `/pilots/${pilotId}/submission`, { form });
    expect([json.status, json.body.code]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);

    const accepted = await submitWith(pilotId, submissionBody(form, pdfBytes()));
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatchObject({
      phase: 'submitted',
      submission: { pdf: { fileName: `${APPLICANT_UNIT}.pdf` } },
    });
  });

  test('the file name is compared after Unicode normalisation', async () => {
    const unit = uniqueId('unit');
    const applicant = '浙江省科学技术协会';
    const registered = await call<{ pilotId: string }>(stack, 'POST', '/pilots', registration(callId, unit));
    expect(registered.status).toBe(201);
    const form = validForm(`${unit} 市科协`, applicant);
    // 省 written as the CJK compatibility ideograph U+F96D, which NFC turns into U+7701.
    const variant = `浙江\uF96D科学技术协会.pdf`;
    expect(variant).not.toBe(`${applicant}.pdf`);
    expect(variant.normalize('NFC')).toBe(`${applicant}.pdf`);
    const answer = await submitWith(registered.body.pilotId, submissionBody(form, pdfBytes('nfc'), variant));
    expect(answer.status).toBe(200);
    expect((answer.body as { submission: { pdf: { fileName: string } } }).submission.pdf.fileName).toBe(
      `${applicant}.pdf`,
    );
  });

  test('the PDF is stored once by content hash, and history carries only its hash, name and size', async () => {
    const bytes = pdfBytes('shared-bytes-MARKER-4711');
    const ids: string[] = [];
    for (let i = 0; i < 2; i += 1) {
      const pilotId = await registerPilot(stack, callId);
      ids.push(pilotId);
      expect((await submitWith(pilotId, submissionBody(validForm(unitNameOf(pilotId)), bytes))).status).toBe(200);
    }
    const [a, b] = await Promise.all(
      ids.map(
        async (id) =>
          (await call<{ submission: { pdf: { sha256: string; sizeBytes: number } } }>(stack, 'GET', `/pilots/${id}`))
            .body,
      ),
    );
    expect(a!.submission.pdf).toEqual(b!.submission.pdf);
    expect(a!.submission.pdf.sizeBytes).toBe(bytes.length);
    const stored = fs.readdirSync(stack.storageDir, { recursive: true }).filter((f) => String(f).endsWith('.pdf'));
    expect(stored.filter((f) => String(f).includes(a!.submission.pdf.sha256))).toEqual([
      path.join(a!.submission.pdf.sha256.slice(0, 2), `${a!.submission.pdf.sha256}.pdf`),
    ]);
    const history = JSON.stringify((await readHistory(stack.client, ids[0]!)).history);
    expect(history).not.toContain('MARKER-4711');
    expect(history).not.toContain(bytes.toString('base64').slice(0, 40));
  });
});
