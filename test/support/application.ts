/** A complete, valid application form (申报书) and a sealed PDF for a registered pilot. */
import type { ApplicationForm } from '../../domain/application-form';
import { call, type RequestOptions, type Stack } from './stack';

export const APPLICANT_UNIT = '浙江省科学技术协会';

const contact = (name: string, mobile: string) => ({
  name,
  mobile,
  email: `${mobile}@zjkx.example.org`,
  address: '浙江省杭州市西湖区文三路 123 号',
  postcode: '310012',
  fax: '/',
  officePhone: '0571-87654321',
});

const opinion = (signer: string) => ({
  recommend: true,
  accurate: true,
  text: '同意推荐，申报内容属实。',
  signer,
  sealed: true as const,
  date: '2020-06-05',
});

/** A version-2 form as printed; its dates lie before any submission a test makes. */
export function validForm(pilotUnitName: string, applicantUnit = APPLICANT_UNIT): ApplicationForm {
  return {
    formVersion: 2,
    cover: { date: '2020-06' },
    basic: {
      pilotUnit: pilotUnitName,
      applicantUnit,
      provincial: false,
      period: { start: '2020-07', end: '2021-07' },
      applicantHead: contact('王建国', '13800138000'),
      pilotHead: contact('李红梅', '13912345678'),
      applicantOpinion: opinion('王建国'),
      pilotUnitOpinion: opinion('李红梅'),
      recommendationReasons: '该市科协基层组织建设基础扎实。',
      unitProfile: '地市级科协，下辖 12 个县级科协。',
      progress: '已完成“三长制”全覆盖。',
      highlights: '/',
    },
    content:
      '目的：探索党建带群建的基层组织改革路径。意义：为全国地市级科协提供可复制经验。' +
      '内容：推进“三长制”，建设科技志愿服务队伍。当前工作基础：已有 300 名科技志愿者。',
    plan: {
      workPlan: '2020年7月启动，2021年7月总结。',
      expectedOutcomes: '形成制度创新成果 3 项、典型案例 5 个、试点报告 1 份。',
      publicityPlan: '通过市科协官网和公众号宣传。',
    },
    lead: { name: '李红梅', sex: '女', birth: '1975-03', unit: pilotUnitName, title: '党组书记、研究员' },
    team: [{ name: '张伟', sex: '男', birth: '1985-11', unit: pilotUnitName, title: '组织部部长' }],
    themes: ['基层组织改革', '联系服务科技工作者'],
  };
}

/** A small but real PDF document (it starts with the %PDF- magic bytes). */
export function pdfBytes(extra = ''): Buffer {
  return Buffer.from(
    `%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n% ${extra}\ntrailer << /Root 1 0 R >>\n%%EOF\n`,
  );
}

export function submissionBody(form: unknown, pdf: Buffer | null, fileName = `${APPLICANT_UNIT}.pdf`): FormData {
  const body = new FormData();
  body.append('form', typeof form === 'string' ? form : JSON.stringify(form));
  if (pdf) body.append('pdf', new Blob([new Uint8Array(pdf)], { type: 'application/pdf' }), fileName);
  return body;
}

/** Submits a valid form for the pilot (its unit name as registered by test helpers). */
export function submitApplication(stack: Stack, pilotId: string, options: RequestOptions = {}) {
  const unitCode = pilotId.split('.')[1]!;
  return call(
    stack,
    'POST',
    `/pilots/${pilotId}/submission`,
    submissionBody(validForm(`${unitCode} 市科协`), pdfBytes(pilotId)),
    options,
  );
}
