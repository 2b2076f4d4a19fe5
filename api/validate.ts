import type { z } from 'zod';
import { jsonShapeIssue, MAX_JSON_DEPTH } from '../domain/json-limits';
import { fieldProblems, Problem } from './problem';

/**
 * The checks every JSON input passes before a schema walks it: not nested deeper than
 * MAX_JSON_DEPTH (400 JSON_TOO_DEEP), no NUL in any string (PostgreSQL cannot store it: refused at
 * the door rather than in a retried activity). `prefix` names the field the JSON came in.
 */
export function checkJsonShape(value: unknown, prefix = ''): void {
  const issue = jsonShapeIssue(value);
  if (issue?.kind === 'too-deep') {
    throw new Problem('JSON_TOO_DEEP', `${prefix ? `${prefix}: ` : ''}more than ${MAX_JSON_DEPTH} levels`);
  }
  if (issue?.kind === 'nul') {
    throw new Problem('VALIDATION_FAILED', undefined, [
      {
        path: [prefix, issue.path].filter(Boolean).join('.'),
        code: 'invalid_characters',
        message: 'NUL characters are not allowed',
      },
    ]);
  }
}

export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  checkJsonShape(body);
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success) throw new Problem('VALIDATION_FAILED', undefined, fieldProblems(parsed.error));
  return parsed.data;
}
