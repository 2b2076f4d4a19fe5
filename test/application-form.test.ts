/**
 * The application form (申报书) and its sealed PDF: a complete valid example passes; each rule
 * has a failing example with the field path and code a clerk sees.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ApplicationForm, formIssuesAgainst } from '../domain/application-form';
import { APPLICANT_UNIT, pdfBytes, submissionBody, validForm } from './support/application';
import { quietHistory, readHistory } from './support/history';
import { openCall, registerPilot } from './support/pilots';
import { call, registration, startStack, uniqueId, type Stack } from './support/stack';

type Mutation = (form: ReturnType<typeof validForm>) => void;

function issuesOf(mutate: Mutation) {
  const form = validForm('杭州市科协');
  mutate(form);
  const parsed = ApplicationForm.safeParse(form);
  return parsed.success ? [] : parsed.error.issues.map((i) => [i.path.join('.'), i.code]);
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
  });

  test.each<[string, Mutation, string, string]>([
    ['mobile', (f) => (f.basic.applicantHead.mobile = '1380013800'), 'basic.applicantHead.mobile', 'invalid_format'],
    ['mobile prefix', (f) => (f.basic.pilotHead.mobile = '12800138000'), 'basic.pilotHead.mobile', 'invalid_format'],
    ['office phone', (f) => (f.basic.pilotHead.officePhone = '8765'), 'basic.pilotHead.officePhone', 'invalid_format'],
    ['fax', (f) => (f.basic.applicantHead.fax = ''), 'basic.applicantHead.fax', 'invalid_format'],
    ['e-mail', (f) => (f.basic.applicantHead.email = 'wang@'), 'basic.applicantHead.email', 'invalid_format'],
    ['postcode', (f) => (f.basic.applicantHead.postcode = '31001'), 'basic.applicantHead.postcode', 'invalid_format'],
    ['year-month', (f) => (f.basic.period.start = '2020-13'), 'basic.period.start', 'invalid_format'],
    ['period order', (f) => (f.basic.period.end = '2020-06'), 'basic.period.end', 'custom'],
    ['birth year-month', (f) => (f.lead.birth = '1975/03'), 'lead.birth', 'invalid_format'],
    ['empty box', (f) => (f.content.purpose = '  '), 'content.purpose', 'too_small'],
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
    expect(
      formIssuesAgainst(form, { period: { start: '2020-07', end: '2021-07' } }, registered).map((i) => [
        i.path,
        i.code,
      ]),
    ).toEqual([
      ['basic.period.start', 'out_of_call_period'],
      ['basic.period.end', 'out_of_call_period'],
      ['basic.pilotUnit', 'not_registered_unit'],
    ]);
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
    const applicant = 'Société 科协'; // é as one code point (NFC)
    const registered = await call<{ pilotId: string }>(stack, 'POST', '/pilots', {
      ...registration(callId, unit),
      applicantUnit: { name: applicant },
    });
    expect(registered.status).toBe(201);
    const form = validForm(`${unit} 市科协`, applicant);
    const decomposed = `${applicant.normalize('NFD')}.pdf`; // e + combining acute accent
    expect(decomposed).not.toBe(`${applicant}.pdf`);
    const answer = await submitWith(registered.body.pilotId, submissionBody(form, pdfBytes('nfc'), decomposed));
    expect(answer.status).toBe(200);
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
