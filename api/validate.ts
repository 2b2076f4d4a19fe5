import type { z } from 'zod';
import { fieldProblems, Problem } from './problem';

export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success) throw new Problem('VALIDATION_FAILED', undefined, fieldProblems(parsed.error));
  return parsed.data;
}
