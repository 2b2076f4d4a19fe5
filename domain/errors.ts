/**
 * Every refusal the product can give, with a stable code and the message in Chinese and English.
 * Workflow validators raise these codes as ApplicationFailure types; the API maps them to HTTP.
 */
export const refusals = {
  VALIDATION_FAILED: { zh: '请求内容不符合要求', en: 'The request is invalid' },
  MALFORMED_JSON: { zh: '请求正文不是有效的 JSON', en: 'The request body is not valid JSON' },
  MALFORMED_REQUEST: { zh: '请求格式错误', en: 'The request is malformed' },
  JSON_TOO_DEEP: {
    zh: '请求正文的 JSON 嵌套层级过深',
    en: 'The JSON in the request is nested too deeply',
  },
  NOT_FOUND: { zh: '请求的资源不存在', en: 'No such resource' },
  CALL_NOT_FOUND: { zh: '申报通知不存在', en: 'No such call' },
  CALL_ALREADY_EXISTS: { zh: '该申报通知编号已存在', en: 'A call with this id already exists' },
  PILOT_NOT_FOUND: { zh: '试点不存在', en: 'No such pilot' },
  PILOT_ALREADY_REGISTERED: {
    zh: '该试点单位已在本申报通知下登记',
    en: 'This pilot unit is already registered under this call',
  },
  REGISTRATION_CLOSED: {
    zh: '申报截止时间及录入期已过，不能再登记申报',
    en: 'The submission deadline and the entry period have passed; no more applications can be registered',
  },
  SUBMISSION_DEADLINE_PASSED: {
    zh: '申报截止时间已过，逾期不予受理',
    en: 'The submission deadline has passed; late submissions are not accepted',
  },
  ALREADY_SUBMITTED: { zh: '该试点的申报材料已经提交', en: 'This application was already submitted' },
  NOT_YET_SUBMITTED: {
    zh: '尚未收到申报材料，不能作出评审决定',
    en: 'No submission has been received; a review decision cannot be made yet',
  },
  ALREADY_DECIDED: { zh: '该申报已作出评审决定', en: 'A review decision was already made' },
  WRONG_PHASE: { zh: '试点当前阶段不允许此操作', en: 'The pilot is not in a phase that allows this' },
  AMOUNT_OUT_OF_RANGE: {
    zh: '核定经费不在本申报通知规定的资助范围内',
    en: "The approved amount is outside the call's funding range",
  },
  EXPERT_CONFLICT_OF_INTEREST: {
    zh: '评审专家与申报单位同属一个省份，应当回避',
    en: "An expert from the applicant's own province must recuse themselves",
  },
  EXPERT_ALREADY_SCORED: { zh: '该专家已提交评分', en: 'This expert has already scored the application' },
  NOT_ENOUGH_EXPERT_SCORES: {
    zh: '专家评分数量不足，不能作出评审决定',
    en: 'Not enough expert scores have been recorded for a panel decision',
  },
  NOT_IN_PUBLIC_NOTICE: { zh: '评审结果不在公示期内', en: 'The review result is not in its public-notice period' },
  TRANCHE_NOT_ISSUED: { zh: '该笔拨款指令尚未下达', en: 'No payment instruction has been issued for this tranche' },
  TRANCHE_ALREADY_CONFIRMED: { zh: '该笔拨款已确认执行', en: 'This tranche has already been confirmed' },
  TRANCHE_VOIDED: { zh: '该笔拨款指令已作废', en: 'This payment instruction has been voided' },
  PILOT_STILL_RUNNING: {
    zh: '试点仍在进行，其拨款指令不能作废；执行后请确认',
    en: 'The pilot is still running: its instruction cannot be voided; confirm it once executed',
  },
  TRANCHE_BUSY: {
    zh: '该笔拨款正在处理中，请稍后重试',
    en: 'This tranche is being processed; try again shortly',
  },
  LEDGER_MISMATCH: {
    zh: '拨款台账与该操作不符（无对应指令或金额不同），未作任何更改',
    en: 'The payment ledger does not match this action (no such instruction, or another amount); nothing was changed',
  },
  RECLAIM_NOT_OPEN: { zh: '该笔经费没有待追回的记录', en: 'No reclaim is open for this tranche' },
  RECLAIM_ALREADY_CLOSED: { zh: '该笔经费的追回已办结', en: 'The reclaim of this tranche is already closed' },
  NOTHING_TO_EXTEND: {
    zh: '该期限当前不在等待中，无法延期',
    en: 'This due date is not pending, so it cannot be moved',
  },
  EXTENSION_NOT_LATER: {
    zh: '新的期限必须晚于原期限和当前时间',
    en: 'The new due date must be later than the current one and than now',
  },
  NOT_CLOSED: { zh: '只有已结项的试点才能列入成果宣传', en: 'Only closed pilots can be marked for publicity' },
  PDF_REQUIRED: { zh: '须上传盖章的申报书 PDF 文件', en: 'The sealed application PDF must be uploaded' },
  PDF_NOT_PDF: { zh: '上传的文件不是 PDF', en: 'The uploaded file is not a PDF' },
  PDF_WRONG_NAME: {
    zh: '文件名须为"申报单位名称.pdf"',
    en: 'The file must be named after the applicant unit: <applicant unit>.pdf',
  },
  SUBMISSION_LATE: {
    zh: '申报材料在截止时间之后才收到，逾期不予受理',
    en: 'The application arrived after the submission deadline; late applications are not accepted',
  },
  ENTRY_PERIOD_ENDED: {
    zh: '申报材料录入期已结束，不能再录入',
    en: 'The period for keying in applications received on time has ended',
  },
  RECEIVED_IN_FUTURE: {
    zh: '收到时间不能晚于当前时间',
    en: 'The time of receipt cannot be in the future',
  },
  RECEIVED_NOT_FOUND: {
    zh: '本申报通知的收件箱中没有这封申报邮件',
    en: "No such received application in this call's inbox",
  },
  RECEIVED_ALREADY_ATTACHED: {
    zh: '这封申报邮件已录入到另一个试点',
    en: 'This received application is already attached to another pilot',
  },
  RECEIVED_WITHOUT_PDF: {
    zh: '这封邮件没有可用的 PDF 附件',
    en: 'This message has no usable PDF attachment',
  },
  UNIT_INTEGRITY_RECORD: {
    zh: '该单位有弄虚作假记录，不予登记申报',
    en: 'This unit has an integrity record (false material) and cannot be registered',
  },
  APPLICANT_NOT_PROVINCIAL_ASSOCIATION: {
    zh: '申报单位应为试点单位所在省份的省级科协（省级试点由本单位申报）',
    en: "The applicant must be the provincial association of the pilot unit's province (a provincial pilot applies for itself)",
  },
  PAYLOAD_TOO_LARGE: { zh: '上传内容超过大小限制', en: 'The request or file is too large' },
  UNAUTHENTICATED: { zh: '缺少或无效的访问令牌', en: 'Missing or invalid bearer token' },
  FORBIDDEN: { zh: '当前角色无权执行此操作', en: 'Your role may not do this' },
  IDEMPOTENCY_KEY_REQUIRED: {
    zh: '写操作须提供 Idempotency-Key 请求头',
    en: 'Every write needs an Idempotency-Key header',
  },
  UNSUPPORTED_MEDIA_TYPE: { zh: '不支持的请求内容类型', en: 'Unsupported content type' },
  PILOT_ENDED: { zh: '该试点流程已结束', en: 'This pilot has ended' },
  TEMPORAL_UNAVAILABLE: {
    zh: '工作流服务暂不可用，请稍后重试',
    en: 'The workflow service is unavailable; try again later',
  },
  DATABASE_UNAVAILABLE: {
    zh: '数据库暂不可用，请稍后重试',
    en: 'The database is unavailable; try again later',
  },
  IDENTITY_UNAVAILABLE: {
    zh: '身份认证服务暂不可用，请稍后重试',
    en: 'The identity provider is unavailable; try again later',
  },
  INTERNAL: { zh: '服务器内部错误', en: 'Internal server error' },
  RATE_LIMITED: {
    zh: '请求过于频繁，请稍后再试',
    en: 'Too many requests; try again later',
  },
  INTAKE_NOT_CONFIGURED: {
    zh: '未配置申报邮件接收（本申报通知未设邮箱文件夹，或本部署未配置 IMAP）',
    en: 'E-mail intake is not configured (the call names no mailbox folder, or this deployment has no IMAP)',
  },
  INTAKE_ENDED: {
    zh: '申报邮件接收已结束（截止时间及补录期已过）',
    en: 'The e-mail intake has ended (the deadline and the entry period are over)',
  },
} as const satisfies Record<string, { zh: string; en: string }>;

export type RefusalCode = keyof typeof refusals;

export function isRefusalCode(code: unknown): code is RefusalCode {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(refusals, code);
}

/** "中文 / English", the form refusals take in workflow failures and logs. */
export function bilingual(code: RefusalCode, detail?: string): string {
  const { zh, en } = refusals[code];
  return detail ? `${zh} / ${en}: ${detail}` : `${zh} / ${en}`;
}
