/**
 * The e-mail intake on real servers: a real Dovecot (IMAP), PostgreSQL and Temporal, the worker as
 * an operator runs it (a child process configured by environment) and the API. Applications are
 * judged by the mail server's arrival time (INTERNALDATE) against a deadline that is a Beijing
 * calendar date; every message is recorded exactly once, even when the worker is killed midway
 * through a mailbox.
 */
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import MailComposer from 'nodemailer/lib/mail-composer';
import type Mail from 'nodemailer/lib/mailer';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createIntakeActivities, MESSAGE_TRIES, MESSAGES_PER_POLL } from '../activities/intake';
import { parseMail, UnreadableMail } from '../activities/intake-mail';
import { CallInput } from '../domain/call';
import { beijingTimestamp, endOfBeijingDay } from '../domain/time';
import { callRecord } from '../lib/calls';
import { createDocumentStore } from '../lib/storage';
import { intakeWorkflowId } from '../workflows/intake/messages';
import { pdfBytes, validForm } from './support/application';
import { startDovecot, type TestDovecot } from './support/dovecot';
import { silentLogger } from './support/runtime';
import { call, compressedCall, registration, startStack, uniqueId, type Stack } from './support/stack';
import { startWorkerProcess, type WorkerProcess } from './support/worker-process';

jest.setTimeout(180_000);

let dovecot: TestDovecot;
let stack: Stack;
let worker: WorkerProcess;
const outputs: string[] = [];
const intakes: string[] = [];

const UNIT = '浙江省科学技术协会';
/** Personal data that must never reach a log. */
const SENDER = 'applicant.wang@zjkx.test';
const SUBJECT_MARK = 'subject-mark-7f3a';

function startWorker(): Promise<WorkerProcess> {
  return startWorkerProcess({
    TASK_QUEUE: stack.taskQueue,
    DATABASE_URL: stack.databaseUrl,
    STORAGE_DIR: stack.storageDir,
    IMAP_HOST: dovecot.host,
    IMAP_PORT: String(dovecot.port),
    IMAP_SECURE: 'false',
    IMAP_USER: dovecot.user,
    IMAP_PASSWORD_FILE: dovecot.passwordFile,
  });
}

beforeAll(async () => {
  dovecot = await startDovecot();
  stack = await startStack({ worker: false, intake: true });
  worker = await startWorker();
});

afterAll(async () => {
  for (const callId of intakes) {
    await stack?.client.workflow
      .getHandle(intakeWorkflowId(callId))
      .terminate('test over')
      .catch(() => undefined);
  }
  if (worker) {
    await worker.stop();
    outputs.push(worker.output());
  }
  await stack?.stop();
  await dovecot?.stop();
});

/** A message as a mail client writes it (nodemailer's composer: RFC 2231 names, base64 bodies). */
async function mail(options: Partial<Mail.Options> & { attachments?: Mail.Attachment[] }): Promise<Buffer> {
  return new MailComposer({
    from: `王主任 <${SENDER}>`,
    to: 'reform-office@reform.test',
    subject: `申报材料 ${SUBJECT_MARK}`,
    text: '附件为盖章的申报书，请查收。',
    ...options,
  })
    .compile()
    .build();
}

const pdfAttachment = (filename: string, content: Buffer): Mail.Attachment => ({
  filename,
  content,
  contentType: 'application/pdf',
});

/** The Beijing calendar date `days` from now. */
const beijingDate = (days: number) =>
  new Date(Date.now() + days * 86_400_000 + 8 * 3_600_000).toISOString().slice(0, 10);

/**
 * A call reading `folder`. `since`: when it opened for applications; without it, the call's
 * creation (now), after every message a test dates in the past.
 */
async function createCall(
  folder: string,
  submissionDeadline: string,
  { since, entryPeriod = '14d' }: { since?: Date; entryPeriod?: string } = {},
): Promise<string> {
  const id = uniqueId('mail');
  const created = await call(
    stack,
    'POST',
    '/calls',
    // The intake reads during the entry period after the deadline (14 days, as by default).
    compressedCall(
      id,
      60,
      { entryPeriod },
      { submissionDeadline, intake: { folder, pollEvery: '1s', ...(since ? { since: since.toISOString() } : {}) } },
    ),
  );
  expect(created.status).toBe(201);
  intakes.push(id);
  return id;
}

interface ReceivedItem {
  id: string;
  uid: number;
  receivedAt: string;
  receivedAtBeijing: string;
  onTime: boolean;
  sender?: string;
  subject?: string;
  attachmentName: string | null;
  pdf: { sha256: string; sizeBytes: number } | null;
  flags: string[];
  match: { applicantUnitName: string; pilotIds: string[] } | null;
  pilotId: string | null;
}
interface ReceivedList {
  total: number;
  items: ReceivedItem[];
}

async function waitFor<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, ms = 60_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > until) throw new Error(`${what}: still ${JSON.stringify(value)} after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test('lateness is judged by arrival time; a Chinese RFC 2231 file name finds its applicant unit; facts are flagged', async () => {
  // Dovecot takes an INTERNALDATE in the future as "now": the deadline day is two days ago, and the
  // intake still reads during the entry period (14 days by default).
  const deadlineDate = beijingDate(-2);
  const folder = `Applications-${randomUUID().slice(0, 6)}`;
  // The call opened on its deadline day: last year's application in the same folder, and one a
  // second before the opening, are not its mail.
  const opened = new Date(`${deadlineDate}T00:00:00+08:00`);
  await dovecot.append(
    folder,
    await mail({ attachments: [pdfAttachment(`${UNIT}.pdf`, pdfBytes('last year'))] }),
    new Date(opened.getTime() - 365 * 86_400_000),
  );
  await dovecot.append(
    folder,
    await mail({ attachments: [pdfAttachment(`${UNIT}.pdf`, pdfBytes('a second early'))] }),
    new Date(opened.getTime() - 1000),
  );
  const lastSecond = new Date(`${deadlineDate}T23:59:59+08:00`);
  const nextMidnight = endOfBeijingDay(deadlineDate); // 00:00:00 Beijing the next day
  const onTimePdf = pdfBytes('on time');
  const latePdf = pdfBytes('late');

  const chinese = await mail({ attachments: [pdfAttachment(`${UNIT}.PDF`, onTimePdf)] });
  // What real clients send for a non-ASCII name: RFC 2231 parameters, never raw UTF-8.
  expect(chinese.toString('latin1')).toMatch(/filename\*(0\*)?=utf-8''/i);
  const onTime = await dovecot.append(folder, chinese, lastSecond);
  const late = await dovecot.append(
    folder,
    await mail({ attachments: [pdfAttachment(`${UNIT}.pdf`, latePdf)] }),
    nextMidnight,
  );
  const noPdf = await dovecot.append(
    folder,
    await mail({ attachments: [{ filename: '申报书.docx', content: Buffer.from('PK\u0003\u0004 not a pdf') }] }),
    new Date(`${deadlineDate}T10:00:00+08:00`),
  );
  const unmatched = await dovecot.append(
    folder,
    await mail({ attachments: [pdfAttachment('江苏省科学技术协会.pdf', pdfBytes('other unit'))] }),
    new Date(`${deadlineDate}T11:00:00+08:00`),
  );
  const fake = await dovecot.append(
    folder,
    await mail({ attachments: [{ filename: `${UNIT}.pdf`, content: Buffer.from('<html>not a pdf</html>') }] }),
    new Date(`${deadlineDate}T12:00:00+08:00`),
  );

  const callId = await createCall(folder, deadlineDate, { since: opened });
  // Registration closed with the deadline: the pilot's row as its registration left it (the
  // burst test below registers through the API).
  const pilotId = `${callId}.hangzhou`;
  await stack.db.pilot.create({
    data: {
      id: pilotId,
      callId,
      pilotUnitCode: 'hangzhou',
      pilotUnitName: '杭州市科协',
      applicantUnitName: UNIT,
      province: '浙江',
      provincial: false,
      phase: 'registered',
      registeredAt: new Date(`${deadlineDate}T09:00:00+08:00`),
      stateVersion: 1,
    },
  });

  const polled = await call<{ status: string; intake: { lastPoll: { uidValidity: number; lastUid: number } } }>(
    stack,
    'POST',
    `/calls/${callId}/intake/poll`,
  );
  expect(polled.status).toBe(200);
  expect(polled.body.intake.lastPoll).toMatchObject({ lastUid: fake.uid, uidValidity: Number(onTime.uidValidity) });
  // The two older messages: passed over, nothing stored, the cursor past them.
  expect(await stack.db.receivedApplication.count({ where: { callId } })).toBe(5);
  expect((await stack.db.mailboxCursor.findMany({ where: { callId } })).map((c) => Number(c.lastUid))).toEqual([
    fake.uid,
  ]);

  const list = await call<ReceivedList>(stack, 'GET', `/calls/${callId}/received`, undefined, { as: 'staff' });
  expect(list.status).toBe(200);
  expect(list.body.total).toBe(5);
  const byUid = new Map(list.body.items.map((item) => [item.uid, item]));
  const id = (uid: number) => `${callId}:${onTime.uidValidity}:${uid}`;

  expect(byUid.get(onTime.uid)).toMatchObject({
    id: id(onTime.uid),
    receivedAt: lastSecond.toISOString(),
    receivedAtBeijing: `${deadlineDate} 23:59:59（北京时间）`,
    onTime: true,
    sender: expect.stringContaining(SENDER),
    attachmentName: `${UNIT}.PDF`,
    pdf: { sha256: createHash('sha256').update(onTimePdf).digest('hex'), sizeBytes: onTimePdf.length },
    flags: [],
    match: { applicantUnitName: UNIT, pilotIds: [pilotId] },
    pilotId: null,
  });
  expect(byUid.get(late.uid)).toMatchObject({
    receivedAt: nextMidnight.toISOString(),
    // An arrival at 00:00 is the first second of its day, never "24:00" of the deadline day.
    receivedAtBeijing: `${new Date(nextMidnight.getTime() + 8 * 3_600_000).toISOString().slice(0, 10)} 00:00:00（北京时间）`,
    onTime: false,
    attachmentName: `${UNIT}.pdf`,
    match: { applicantUnitName: UNIT, pilotIds: [pilotId] },
    flags: [],
  });
  expect(byUid.get(noPdf.uid)).toMatchObject({
    onTime: true,
    attachmentName: null,
    pdf: null,
    match: null,
    flags: ['NO_PDF'],
  });
  expect(byUid.get(unmatched.uid)).toMatchObject({
    attachmentName: '江苏省科学技术协会.pdf',
    match: null,
    flags: ['UNMATCHED_UNIT'],
  });
  expect(byUid.get(fake.uid)).toMatchObject({ pdf: null, flags: ['NO_PDF', 'NOT_A_PDF'] });

  // The PDF is in the document store the API uses, under its hash.
  const store = createDocumentStore(stack.storageDir);
  expect(fs.readFileSync(store.pathOf(byUid.get(onTime.uid)!.pdf!.sha256))).toEqual(onTimePdf);

  // Filters and paging; auditors read without the sender's personal data.
  const flagged = await call<ReceivedList>(stack, 'GET', `/calls/${callId}/received?status=flagged`);
  expect(flagged.body.items.map((item) => item.uid).sort()).toEqual([noPdf.uid, unmatched.uid, fake.uid].sort());
  const page = await call<ReceivedList>(stack, 'GET', `/calls/${callId}/received?status=unattached&limit=2&offset=1`);
  expect([page.body.total, page.body.items.length]).toEqual([5, 2]);
  expect((await call<ReceivedList>(stack, 'GET', `/calls/${callId}/received?status=attached`)).body.total).toBe(0);
  const audited = await call<ReceivedList>(stack, 'GET', `/calls/${callId}/received`, undefined, { as: 'auditor' });
  expect(audited.status).toBe(200);
  expect(JSON.stringify(audited.body)).not.toContain(SENDER);
  expect((await call(stack, 'GET', `/calls/${callId}/received`, undefined, { as: 'finance' })).status).toBe(403);
  expect((await call(stack, 'POST', `/calls/${callId}/intake/poll`, undefined, { as: 'auditor' })).status).toBe(403);

  // The folder recreated (a new UIDVALIDITY, UIDs from 1 again): read from its start, nothing mixed up.
  await dovecot.deleteFolder(folder);
  const again = await dovecot.append(
    folder,
    await mail({ attachments: [pdfAttachment(`${UNIT}.pdf`, pdfBytes('after the folder was recreated'))] }),
    new Date(`${deadlineDate}T09:00:00+08:00`),
  );
  expect(again.uidValidity).not.toBe(onTime.uidValidity);
  await call(stack, 'POST', `/calls/${callId}/intake/poll`);
  const after = await call<ReceivedList>(stack, 'GET', `/calls/${callId}/received`);
  expect(after.body.total).toBe(6);
  expect(after.body.items.map((item) => item.id)).toContain(`${callId}:${again.uidValidity}:${again.uid}`);
});

test('an e-mailed application is keyed in after the deadline by its arrival; a late one is refused; one mail, one pilot', async () => {
  const deadlineDate = beijingDate(-2);
  const folder = `Entry-${randomUUID().slice(0, 6)}`;
  const onTime = await dovecot.append(
    folder,
    await mail({ attachments: [pdfAttachment(`${UNIT}.pdf`, pdfBytes('keyed in later'))] }),
    new Date(`${deadlineDate}T23:59:59+08:00`),
  );
  const late = await dovecot.append(
    folder,
    await mail({ attachments: [pdfAttachment(`${UNIT}.pdf`, pdfBytes('a day late'))] }),
    endOfBeijingDay(deadlineDate),
  );
  const noPdf = await dovecot.append(folder, await mail({}), new Date(`${deadlineDate}T08:00:00+08:00`));
  const callId = await createCall(folder, deadlineDate, { since: new Date(`${deadlineDate}T00:00:00+08:00`) });
  // Registration stays open through the entry period: the office registers what arrived.
  const register = async (unit: string) => {
    const answer = await call<{ pilotId: string }>(stack, 'POST', '/pilots', registration(callId, unit));
    expect(answer.status).toBe(201);
    return answer.body.pilotId;
  };
  const hangzhou = await register('hangzhou');
  const ningbo = await register('ningbo');
  await call(stack, 'POST', `/calls/${callId}/intake/poll`);
  const id = (uid: number) => `${callId}:${onTime.uidValidity}:${uid}`;
  const keyIn = (pilotId: string, receivedId: string) => {
    const body = new FormData();
    body.append('form', JSON.stringify(validForm(`${pilotId.split('.')[1]} 市科协`, UNIT)));
    body.append('receivedId', receivedId);
    return call<Record<string, unknown>>(stack, 'POST', `/pilots/${pilotId}/submission`, body);
  };

  const accepted = await keyIn(hangzhou, id(onTime.uid));
  expect(accepted.status).toBe(200);
  expect(accepted.body).toMatchObject({
    phase: 'submitted',
    submission: {
      receivedAt: new Date(`${deadlineDate}T23:59:59+08:00`).toISOString(),
      receipt: { via: 'email', receivedId: id(onTime.uid) },
      pdf: { fileName: `${UNIT}.pdf` },
    },
  });
  const attached = await call<ReceivedList>(stack, 'GET', `/calls/${callId}/received?status=attached`);
  expect(attached.body.items).toEqual([expect.objectContaining({ id: id(onTime.uid), pilotId: hangzhou })]);

  // The same mail for another pilot: refused, the first keeps it.
  const taken = await keyIn(ningbo, id(onTime.uid));
  expect([taken.status, taken.body.code]).toEqual([409, 'RECEIVED_ALREADY_ATTACHED']);
  // Arrived at 00:00:00 Beijing the day after: 逾期不予受理, with the arrival time; the mail stays free.
  const refused = await keyIn(ningbo, id(late.uid));
  expect(refused.status).toBe(422);
  expect(refused.body).toMatchObject({ code: 'SUBMISSION_LATE', message: expect.stringContaining('逾期不予受理') });
  // The arrival to the second, as the first instant of the next day (never "24:00", the deadline's own text).
  expect(String(refused.body.detail)).toContain(`${beijingTimestamp(endOfBeijingDay(deadlineDate))}（北京时间）`);
  expect(String(refused.body.detail)).toMatch(/ 00:00:00（北京时间）$/);
  expect((await stack.db.receivedApplication.findUniqueOrThrow({ where: { id: id(late.uid) } })).pilotId).toBeNull();
  expect((await keyIn(ningbo, id(noPdf.uid))).body.code).toBe('RECEIVED_WITHOUT_PDF');
  expect((await keyIn(ningbo, `${callId}:1:999999`)).body.code).toBe('RECEIVED_NOT_FOUND');
  const live = await call<{ phase: string }>(stack, 'GET', `/pilots/${ningbo}`);
  expect(live.body.phase).toBe('registered');
});

test('every message exactly once when the worker is killed midway through a mailbox', async () => {
  const folder = `Burst-${randomUUID().slice(0, 6)}`;
  const deadlineDate = beijingDate(3);
  const total = 150;
  // INTERNALDATE has whole seconds.
  const firstArrival = Math.floor(Date.now() / 1000) * 1000 - (total + 60) * 1000;
  const expected = new Map<number, { sha256: string; receivedAt: string }>();
  // PDFs of some size, so that reading the mailbox takes a while.
  const padding = 'x'.repeat(60_000);
  for (let i = 0; i < total; i += 1) {
    const pdf = pdfBytes(`message ${i} ${padding}`);
    const arrived = new Date(firstArrival + i * 1000);
    const { uid } = await dovecot.append(
      folder,
      await mail({ attachments: [pdfAttachment(`${UNIT}.pdf`, pdf)] }),
      arrived,
    );
    expected.set(uid, { sha256: createHash('sha256').update(pdf).digest('hex'), receivedAt: arrived.toISOString() });
  }

  const callId = await createCall(folder, deadlineDate, { since: new Date(firstArrival - 60_000) });
  const registered = await call<{ pilotId: string }>(stack, 'POST', '/pilots', registration(callId, 'ningbo'));
  expect(registered.status).toBe(201);
  const count = () => stack.db.receivedApplication.count({ where: { callId } });
  await waitFor('the first rows', count, (n) => n >= 10, 60_000);
  await worker.kill9();
  outputs.push(worker.output());
  const atKill = await count();
  expect(atKill).toBeLessThan(total);
  process.stderr.write(`intake test: worker killed with ${atKill} of ${total} messages recorded\n`);

  worker = await startWorker();
  await waitFor('every message', count, (n) => n >= total, 120_000);

  const rows = await stack.db.receivedApplication.findMany({ where: { callId }, orderBy: { uid: 'asc' } });
  expect(rows.map((row) => Number(row.uid))).toEqual([...expected.keys()].sort((a, b) => a - b));
  for (const row of rows) {
    const want = expected.get(Number(row.uid))!;
    expect([Number(row.uid), row.pdfSha256, row.receivedAt.toISOString(), row.flags]).toEqual([
      Number(row.uid),
      want.sha256,
      want.receivedAt,
      [],
    ]);
  }
  const cursor = await stack.db.mailboxCursor.findMany({ where: { callId } });
  expect(cursor.map((c) => Number(c.lastUid))).toEqual([Math.max(...expected.keys())]);

  // A re-fetch from the start (as after a crash between insert and cursor) inserts nothing twice.
  await stack.db.mailboxCursor.updateMany({ where: { callId }, data: { lastUid: 0n } });
  const polled = await call<{ intake: { lastPoll: { fetched: number; recorded: number } } }>(
    stack,
    'POST',
    `/calls/${callId}/intake/poll`,
  );
  expect(polled.status).toBe(200);
  expect(polled.body.intake.lastPoll.fetched).toBeGreaterThan(0);
  expect(polled.body.intake.lastPoll.recorded).toBe(0);
  expect(await count()).toBe(total);

  // The pilot registered through the API is the match of every one of them, all on time.
  await waitFor(
    'the pilot row',
    () => stack.db.pilot.count({ where: { id: registered.body.pilotId } }),
    (n) => n === 1,
  );
  const list = await call<ReceivedList>(stack, 'GET', `/calls/${callId}/received?limit=200`);
  expect(list.body.total).toBe(total);
  expect(
    list.body.items.every(
      (item) => item.onTime && item.match?.pilotIds.join() === registered.body.pilotId && item.flags.length === 0,
    ),
  ).toBe(true);
});

/** A raw message as a hostile or broken client might send it: header values as given. */
function rawMail(subject: string, attachments: { disposition: string; content: Buffer }[]): Buffer {
  const boundary = `b-${randomUUID()}`;
  const parts = attachments.map(
    ({ disposition, content }) =>
      `--${boundary}\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; ${disposition}\r\n` +
      `Content-Transfer-Encoding: base64\r\n\r\n${content.toString('base64')}\r\n`,
  );
  return Buffer.from(
    `From: =?UTF-8?Q?=E7=8E=8B=00?= <${SENDER}>\r\nTo: reform-office@reform.test\r\nSubject: ${subject}\r\n` +
      `Message-ID: <${randomUUID()}@zjkx.test>\r\nMIME-Version: 1.0\r\n` +
      `Content-Type: multipart/mixed; boundary="${boundary}"\r\n\r\n` +
      `--${boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nsee attachment\r\n` +
      `${parts.join('')}--${boundary}--\r\n`,
  );
}

test('a NUL in a subject and a file name is cleaned, not a stop: the messages after it are read; of several PDFs the unit’s is chosen', async () => {
  const deadlineDate = beijingDate(-2);
  const folder = `Hostile-${randomUUID().slice(0, 6)}`;
  const at = (hour: string) => new Date(`${deadlineDate}T${hour}:00:00+08:00`);
  const nulPdf = pdfBytes('named with a NUL');
  const hostile = await dovecot.append(
    folder,
    rawMail(`=?UTF-8?Q?${SUBJECT_MARK}_a=00b=01c?=`, [
      { disposition: `filename*=utf-8''${encodeURIComponent(UNIT)}%00.pdf`, content: nulPdf },
    ]),
    at('09'),
  );
  const after = await dovecot.append(
    folder,
    await mail({ attachments: [pdfAttachment(`${UNIT}.pdf`, pdfBytes('after the hostile one'))] }),
    at('10'),
  );
  const unitPdf = pdfBytes('the unit’s own');
  const several = await dovecot.append(
    folder,
    await mail({
      attachments: [pdfAttachment('申报书.pdf', pdfBytes('a generic name')), pdfAttachment(`${UNIT}.pdf`, unitPdf)],
    }),
    at('11'),
  );
  const callId = await createCall(folder, deadlineDate, { since: at('00') });
  const count = () => stack.db.receivedApplication.count({ where: { callId } });
  await waitFor('every message', count, (n) => n >= 3, 60_000);

  const row = await stack.db.receivedApplication.findUniqueOrThrow({
    where: { id: `${callId}:${hostile.uidValidity}:${hostile.uid}` },
  });
  expect([row.subject, row.attachmentName, row.flags]).toEqual([`${SUBJECT_MARK} abc`, `${UNIT}.pdf`, []]);
  expect(row.sender).toContain(SENDER);
  expect(row.sender).not.toContain('\u0000');
  expect(row.pdfSha256).toBe(createHash('sha256').update(nulPdf).digest('hex'));
  expect(JSON.stringify(row.attachments)).not.toContain('\\u0000');
  expect(await stack.db.receivedApplication.count({ where: { callId, uid: after.uid } })).toBe(1);

  // Recorded before the unit registered: the first PDF that names something. Read once it has,
  // the unit's own PDF of the same message, which staff then attach.
  const recorded = await stack.db.receivedApplication.findFirstOrThrow({ where: { callId, uid: several.uid } });
  expect([recorded.attachmentName, recorded.flags]).toEqual(['申报书.pdf', ['SEVERAL_PDFS']]);
  const pilot = await call<{ pilotId: string }>(stack, 'POST', '/pilots', registration(callId, 'hangzhou'));
  expect(pilot.status).toBe(201);
  await waitFor(
    'the pilot row',
    () => stack.db.pilot.count({ where: { id: pilot.body.pilotId } }),
    (n) => n === 1,
  );
  const list = await call<ReceivedList>(stack, 'GET', `/calls/${callId}/received`, undefined, { as: 'staff' });
  expect(list.body.items.find((item) => item.uid === several.uid)).toMatchObject({
    attachmentName: `${UNIT}.pdf`,
    pdf: { sha256: createHash('sha256').update(unitPdf).digest('hex'), sizeBytes: unitPdf.length },
    match: { applicantUnitName: UNIT, pilotIds: [pilot.body.pilotId] },
    flags: ['SEVERAL_PDFS'],
  });
});

test('a message that cannot be read is recorded UNREADABLE after its tries and the rest is read; heartbeats run on a timer', async () => {
  const deadlineDate = beijingDate(-2);
  const folder = `Broken-${randomUUID().slice(0, 6)}`;
  const at = (hour: string) => new Date(`${deadlineDate}T${hour}:00:00+08:00`);
  const slow = await dovecot.append(
    folder,
    await mail({ subject: 'slow-mark', attachments: [pdfAttachment(`${UNIT}.pdf`, pdfBytes('slow'))] }),
    at('09'),
  );
  const broken = await dovecot.append(
    folder,
    await mail({ subject: 'broken-mark', attachments: [pdfAttachment(`${UNIT}.pdf`, pdfBytes('broken'))] }),
    at('10'),
  );
  const garbled = await dovecot.append(folder, await mail({ subject: 'garbled-mark' }), at('11'));
  const last = await dovecot.append(
    folder,
    await mail({ attachments: [pdfAttachment(`${UNIT}.pdf`, pdfBytes('last'))] }),
    at('12'),
  );
  // The call's row only (no intake workflow): this test runs the activity itself.
  const callId = uniqueId('mail');
  await stack.db.call.create({
    data: callRecord(
      CallInput.parse(
        compressedCall(
          callId,
          60,
          {},
          { submissionDeadline: deadlineDate, intake: { folder, since: at('00').toISOString() } },
        ),
      ),
    ),
  });
  let brokenTries = 0;
  const activities = createIntakeActivities({
    db: stack.db,
    store: createDocumentStore(stack.storageDir),
    imap: { host: dovecot.host, port: dovecot.port, secure: false, user: dovecot.user, password: dovecot.password },
    heartbeatEveryMs: 50,
    retryPauseMs: 10,
    parse: async (source) => {
      const text = source.toString('latin1');
      if (text.includes('slow-mark')) await new Promise((resolve) => setTimeout(resolve, 600));
      if (text.includes('broken-mark')) {
        brokenTries += 1;
        throw new TypeError('a parser that fails on this message, every time');
      }
      if (text.includes('garbled-mark')) throw new UnreadableMail(new Error('unparseable'));
      return parseMail(source);
    },
  });
  const environment = new MockActivityEnvironment({}, { logger: silentLogger });
  const heartbeats: unknown[] = [];
  environment.on('heartbeat', (details: unknown) => heartbeats.push(details));
  const result = await environment.run(activities.pollMailbox, { callId, folder });

  expect(result).toMatchObject({ fetched: 4, recorded: 4, unreadable: 2, skipped: 0, lastUid: last.uid, more: false });
  // The timer beat during the slow message, beyond one heartbeat per message.
  expect(heartbeats.length).toBeGreaterThan(4 + 5);
  expect(brokenTries).toBe(MESSAGE_TRIES);
  const rows = await stack.db.receivedApplication.findMany({ where: { callId }, orderBy: { uid: 'asc' } });
  expect(rows.map((r) => [Number(r.uid), r.flags, r.pdfSha256 === null, r.receivedAt.toISOString()])).toEqual([
    [slow.uid, [], false, at('09').toISOString()],
    [broken.uid, ['UNREADABLE'], true, at('10').toISOString()],
    [garbled.uid, ['UNREADABLE'], true, at('11').toISOString()],
    [last.uid, [], false, at('12').toISOString()],
  ]);
  expect(rows[1]!.subject).toBe('broken-mark');
});

test('the last poll reads on while there is more, then the intake ends: polling after it is INTAKE_ENDED', async () => {
  const deadlineDate = beijingDate(-2);
  const folder = `Last-${randomUUID().slice(0, 6)}`;
  const total = MESSAGES_PER_POLL + 5;
  const first = new Date(`${deadlineDate}T09:00:00+08:00`).getTime();
  for (let i = 0; i < total; i += 1) {
    await dovecot.append(folder, await mail({ subject: `message ${i}` }), new Date(first + i * 1000));
  }
  // Its entry period is over when it is created: the first poll is the last one.
  const callId = await createCall(folder, deadlineDate, { since: new Date(first), entryPeriod: '1s' });
  const handle = stack.client.workflow.getHandle(intakeWorkflowId(callId));
  const state = (await handle.result()) as { ended: boolean; polls: number; lastFailure: unknown };
  expect(state).toMatchObject({ ended: true, polls: 2, lastFailure: null });
  expect(await stack.db.receivedApplication.count({ where: { callId } })).toBe(total);
  const polled = await call<{ code: string }>(stack, 'POST', `/calls/${callId}/intake/poll`);
  expect([polled.status, polled.body.code]).toEqual([409, 'INTAKE_ENDED']);
});

test('hostile call ids are 404, never 500; a call named "intake" and a poll faster than 1s are refused', async () => {
  for (const path of [
    '/calls/%00',
    '/calls/%00/received',
    '/calls/%00/public-notice',
    '/calls/%00/public-notice.html',
  ]) {
    expect([path, (await call(stack, 'GET', path)).status]).toEqual([path, 404]);
  }
  expect((await call(stack, 'POST', '/calls/%00/intake/poll')).status).toBe(404);
  const refused = async (body: unknown) => {
    const answer = await call<{ code: string }>(stack, 'POST', '/calls', body);
    return [answer.status, answer.body.code, JSON.stringify(answer.body)];
  };
  const named = await refused(compressedCall('intake', 60));
  expect(named.slice(0, 2)).toEqual([422, 'VALIDATION_FAILED']);
  expect(named[2]).toContain('reserved');
  const fast = await refused(
    compressedCall(uniqueId('mail'), 60, {}, { intake: { folder: 'INBOX', pollEvery: '500ms' } }),
  );
  expect(fast.slice(0, 2)).toEqual([422, 'VALIDATION_FAILED']);
  expect(fast[2]).toContain('1s');
});

test('a folder that does not exist fails its polls without stopping the intake; no credentials or senders in logs', async () => {
  const callId = await createCall(`Nowhere-${randomUUID().slice(0, 6)}`, beijingDate(3));
  const failure = await waitFor(
    'a failed poll in the worker log',
    async () => worker.output(),
    (out) => out.includes('"type":"IMAP_UNAVAILABLE"'),
    30_000,
  );
  expect(failure).toContain('"activityType":"pollMailbox"');
  const state = await stack.client.workflow.getHandle(intakeWorkflowId(callId)).describe();
  expect(state.status.name).toBe('RUNNING');

  const logs = [...outputs, worker.output()].join('\n');
  expect(logs).toContain('intake: message recorded');
  expect(logs).toContain('worker started');
  expect(logs).not.toContain(dovecot.password);
  expect(logs).not.toContain(SENDER);
  expect(logs).not.toContain(SUBJECT_MARK);
  expect(logs).not.toContain(UNIT);
});
