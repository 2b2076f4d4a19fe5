/**
 * Every e-mail ends with the office's contact as the call names it (a part the call does not give
 * is left out), and its dates read in Beijing time, a deadline day ending at 24:00. Pure: the
 * templates render what the outbox stores; test/reminders.test.ts sees the same on real mail.
 */
import { contactFoot, renderNotice, type OfficeContact } from '../activities/notice-templates';
import type { Notice, NoticeContent } from '../domain/notice';
import { endOfBeijingDay } from '../domain/time';

const OFFICE: OfficeContact = {
  name: '中国科协改革工作办公室',
  email: 'reform-office@example.org',
  contactName: '张明',
  phone: '010-68571234',
};

const CONTENTS: NoticeContent[] = [
  { template: 'reminder', step: 'submission', dueAt: endOfBeijingDay('2026-11-29').toISOString(), when: 'before' },
  { template: 'reminder', step: 'midterm-report', dueAt: '2027-05-31T16:00:00.000Z', when: 'overdue' },
  { template: 'payment-instruction', tranche: 'first', amountFen: 175_000_00 },
  { template: 'tranche-withheld', tranche: 'tail', amountFen: 175_000_00, reason: '中期评审未通过' },
  { template: 'instruction-voided', tranche: 'first', amountFen: 175_000_00, reason: '未执行' },
  { template: 'instruction-open-after-end', tranche: 'first', amountFen: 175_000_00, ending: '已撤销 withdrawn' },
  { template: 'reclaim-opened', tranche: 'first', amountFen: 175_000_00, reason: '弄虚作假' },
];

const notice = (content: NoticeContent): Notice => ({
  key: `2020-batch2.hangzhou:${content.template}`,
  pilotId: '2020-batch2.hangzhou',
  pilotName: '杭州市科协',
  callName: '2020年第二批地方科协深化改革工作试点',
  to: ['finance@example.org'],
  content,
});

test.each(CONTENTS.map((c) => [c.template, c] as const))('%s ends with the office contact', (_name, content) => {
  const { text } = renderNotice(notice(content), OFFICE);
  const foot = text.slice(text.indexOf('联系方式 Contact'));
  expect(foot).toBe(
    '联系方式 Contact\n' +
      '联系单位 Office: 中国科协改革工作办公室\n' +
      '联系人 Contact person: 张明\n' +
      '电话 Phone: 010-68571234\n' +
      '电子信箱 E-mail: reform-office@example.org\n' +
      '\n—— 中国科协改革工作办公室（系统自动发送 / sent automatically）\n',
  );
});

test('a contact person or phone the call does not give leaves its line out', () => {
  const foot = contactFoot({ name: '改革办', email: 'o@reform.test' });
  expect(foot).toContain('联系单位 Office: 改革办\n电子信箱 E-mail: o@reform.test\n');
  expect(foot).not.toContain('联系人');
  expect(foot).not.toContain('电话');
  expect(foot).not.toContain('undefined');
  // A call that cannot be read: the signature only, nothing invented.
  expect(contactFoot(null)).toBe(
    '\n—— 中国科协改革工作办公室 / Reform Office of CAST（系统自动发送 / sent automatically）\n',
  );
});

test('a deadline reads as 24:00 of its day, in the subject and the text', () => {
  const { subject, text } = renderNotice(notice(CONTENTS[0]!), OFFICE);
  expect(subject).toBe('【提醒】申报材料提交截止 2026-11-29 24:00：杭州市科协 / Reminder: application submission due');
  expect(text).toContain('期限 Due: 2026-11-29 24:00（北京时间）\n');
  expect(text).not.toContain('2026-11-30');
  const overdue = renderNotice(notice(CONTENTS[1]!), OFFICE);
  expect(overdue.text).toContain('期限 Due: 2027-05-31 24:00（北京时间）\n');
});
