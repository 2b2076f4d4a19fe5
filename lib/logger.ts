import pino from 'pino';

/**
 * Structured JSON logs. Personal data (names, phones, e-mails, bearer tokens) must never reach
 * them: the redaction below is a safety net, not a licence to log whole bodies.
 */
export function createLogger(name: string, level = process.env.LOG_LEVEL ?? 'info') {
  return pino({
    name,
    level,
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', '*.email', '*.mobile', '*.phone'],
      censor: '[redacted]',
    },
  });
}
export type Logger = ReturnType<typeof createLogger>;
