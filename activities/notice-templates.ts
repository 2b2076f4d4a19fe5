/**
 * The e-mails the product sends: Chinese first, with the English gist, naming the pilot, the step,
 * the date and what to do, and ending with whom to contact at the programme office.
 */
import type { Call } from '../domain/call';
import { formatYuan } from '../domain/money';
import type { Notice, NoticeContent } from '../domain/notice';
import { beijingWallClock, formatBeijing } from '../domain/time';

/** The office's contact as the call names it (联系单位, 联系人, 电话, 电子信箱). */
export type OfficeContact = Call['office'];

type ReminderStep = Extract<NoticeContent, { template: 'reminder' }>['step'];

const STEPS: Record<ReminderStep, { zh: string; en: string; todoZh: string; todoEn: string }> = {
  submission: {
    zh: '申报材料提交',
    en: 'application submission',
    todoZh: '请在截止时间前将盖章的申报书 PDF（文件名为申报单位名称）发送至改革办。逾期不予受理。',
    todoEn:
      'Send the sealed application PDF, named after the applicant unit, before the deadline. Late submissions are not accepted.',
  },
  'review-decision': {
    zh: '专家评审结论',
    en: 'expert review decision',
    todoZh: '请组织专家评审并录入评审结论。',
    todoEn: 'Organise the expert review and record the panel decision.',
  },
  'public-notice': {
    zh: '评审结果公示',
    en: 'public notice of the review result',
    todoZh: '公示期内如有异议请及时登记。',
    todoEn: 'Record any objection raised during the public notice.',
  },
  'midterm-report': {
    zh: '中期报告',
    en: 'midterm report',
    todoZh: '请按时提交试点中期报告。',
    todoEn: 'Submit the pilot midterm report on time.',
  },
  'midterm-evaluation': {
    zh: '中期评审',
    en: 'midterm evaluation',
    todoZh: '请组织中期评审并录入结论；未通过中期评审的不予拨付尾款。',
    todoEn: 'Hold the midterm evaluation and record its result; a failed midterm withholds the tail payment.',
  },
  'final-report': {
    zh: '结项报告',
    en: 'final report',
    todoZh: '请提交地方科协改革试点报告，以及典型经验案例和制度创新成果。',
    todoEn: 'Submit the pilot report with its typical cases and institutional innovations.',
  },
  acceptance: {
    zh: '结项验收',
    en: 'final acceptance',
    todoZh: '请组织结项验收并录入结论；未通过验收的不予结项。',
    todoEn: 'Hold the final acceptance and record its result; a failed acceptance leaves the pilot not closed.',
  },
  rectification: {
    zh: '整改报告',
    en: 'rectification report',
    todoZh: '请在整改期限内提交整改报告，逾期视为未通过验收。',
    todoEn: 'Submit the rectification report in time; missing it leaves the pilot not closed.',
  },
  reclaim: {
    zh: '经费追回',
    en: 'reclaim of paid funds',
    todoZh: '请追回已拨付的经费，到账后在系统中办结并附凭证号。',
    todoEn: 'Reclaim the paid funds and close the reclaim with the reference once they have arrived.',
  },
  'finance-confirmation': {
    zh: '拨款执行确认',
    en: 'confirmation of payment execution',
    todoZh: '请执行拨款指令并在系统中确认（附凭证号）。',
    todoEn: 'Execute the payment instruction and confirm it with its reference.',
  },
};

const TRANCHE = { first: { zh: '第一批经费（50%）', en: 'first tranche' }, tail: { zh: '尾款', en: 'tail tranche' } };

/**
 * The foot of every message: the office's contact, a line for each part the call gives (a missing
 * contact person or phone leaves its line out). Without the call (not found) only the signature.
 */
export function contactFoot(office: OfficeContact | null): string {
  const lines = office
    ? [
        ['联系单位 Office', office.name],
        ['联系人 Contact person', office.contactName],
        ['电话 Phone', office.phone],
        ['电子信箱 E-mail', office.email],
      ]
        .filter((line): line is [string, string] => Boolean(line[1]))
        .map(([label, value]) => `${label}: ${value}\n`)
        .join('')
    : '';
  const signature = office?.name ?? '中国科协改革工作办公室 / Reform Office of CAST';
  return `\n${lines ? `联系方式 Contact\n${lines}\n` : ''}—— ${signature}（系统自动发送 / sent automatically）\n`;
}

/** Subject and text of a notice; `office` is the contact of the pilot's call (null if unknown). */
export function renderNotice(notice: Notice, office: OfficeContact | null): { subject: string; text: string } {
  const head = `试点 Pilot: ${notice.pilotName}（${notice.pilotId}）\n申报通知 Call: ${notice.callName}\n`;
  const foot = contactFoot(office);
  const { content } = notice;
  switch (content.template) {
    case 'reminder': {
      const step = STEPS[content.step];
      const due = formatBeijing(content.dueAt);
      const overdue = content.when === 'overdue';
      return {
        subject: overdue
          ? `【已逾期】${step.zh}：${notice.pilotName} / Overdue: ${step.en}`
          : `【提醒】${step.zh}截止 ${beijingWallClock(content.dueAt)}：${notice.pilotName} / Reminder: ${step.en} due`,
        text:
          head +
          `事项 Step: ${step.zh} / ${step.en}\n期限 Due: ${due}\n` +
          (overdue ? '状态 Status: 已逾期 / overdue\n' : '') +
          `\n${step.todoZh}\n${step.todoEn}\n` +
          foot,
      };
    }
    case 'payment-instruction': {
      const tranche = TRANCHE[content.tranche];
      return {
        subject: `【拨款指令】${tranche.zh} ${formatYuan(content.amountFen)} 元：${notice.pilotName} / Payment instruction`,
        text:
          head +
          `拨款 Tranche: ${tranche.zh} / ${tranche.en}\n金额 Amount: ${formatYuan(content.amountFen)} 元 (CNY)\n` +
          `\n${STEPS['finance-confirmation'].todoZh}\n${STEPS['finance-confirmation'].todoEn}\n` +
          foot,
      };
    }
    case 'tranche-withheld': {
      const tranche = TRANCHE[content.tranche];
      return {
        subject: `【不予拨付】${tranche.zh}：${notice.pilotName} / Tranche withheld`,
        text:
          head +
          `拨款 Tranche: ${tranche.zh} / ${tranche.en}\n金额 Amount: ${formatYuan(content.amountFen)} 元 (CNY)\n` +
          `原因 Reason: ${content.reason}\n\n该笔经费不予拨付。\nThis tranche will not be paid.\n` +
          foot,
      };
    }
    case 'instruction-voided': {
      const tranche = TRANCHE[content.tranche];
      return {
        subject: `【拨款指令作废】${tranche.zh} ${formatYuan(content.amountFen)} 元：${notice.pilotName} / Payment instruction voided`,
        text:
          head +
          `拨款 Tranche: ${tranche.zh} / ${tranche.en}\n金额 Amount: ${formatYuan(content.amountFen)} 元 (CNY)\n` +
          `原因 Reason: ${content.reason}\n\n财务已将该拨款指令作废，该笔经费不会拨付。\n` +
          'Finance voided this payment instruction; the tranche will not be paid.\n' +
          foot,
      };
    }
    case 'instruction-open-after-end': {
      const tranche = TRANCHE[content.tranche];
      return {
        subject: `【请处理拨款指令】${tranche.zh} ${formatYuan(content.amountFen)} 元：${notice.pilotName} / Open payment instruction of an ended pilot`,
        text:
          head +
          `拨款 Tranche: ${tranche.zh} / ${tranche.en}\n金额 Amount: ${formatYuan(content.amountFen)} 元 (CNY)\n` +
          `试点状态 Pilot: ${content.ending}\n\n` +
          '该试点已终止，而该笔拨款指令尚未确认。已执行的，请确认并附凭证号；未执行的，请作废该指令并说明原因。\n' +
          'The pilot has ended while this instruction is open. If it was executed, confirm it with its reference; ' +
          'if not, void it with a reason.\n' +
          foot,
      };
    }
    case 'reclaim-opened': {
      const tranche = TRANCHE[content.tranche];
      return {
        subject: `【经费追回】${tranche.zh} ${formatYuan(content.amountFen)} 元：${notice.pilotName} / Reclaim of a paid tranche`,
        text:
          head +
          `拨款 Tranche: ${tranche.zh} / ${tranche.en}\n追回金额 Amount to reclaim: ${formatYuan(content.amountFen)} 元 (CNY)\n` +
          `原因 Reason: ${content.reason}\n\n` +
          '该试点经认定存在弄虚作假，已拨付的经费应予追回。追回到账后，请在系统中办结并附凭证号。\n' +
          'The pilot was found to have submitted false material; the paid amount is to be reclaimed. ' +
          'Close the reclaim with the reference of the repayment once it has arrived.\n' +
          foot,
      };
    }
  }
}
