import type { z } from 'zod';
import { fieldProblems, Problem } from './problem';

/** PostgreSQL cannot store NUL in text: refuse it at the door rather than in a retried activity. */
export function nulPath(value: unknown, path: string[] = []): string | null {
  if (typeof value === 'string') return value.includes('\u0000') ? path.join('.') : null;
  if (value && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      const found = nulPath(inner, [...path, key]);
      if (found !== null) return found;
    }
  }
  return null;
}

export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const withNul = nulPath(body);
  if (withNul !== null) {
    throw new Problem('VALIDATION_FAILED', undefined, [
      { path: withNul, code: 'invalid_characters', message: 'NUL characters are not allowed' },
    ]);
  }
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success) throw new Problem('VALIDATION_FAILED', undefined, fieldProblems(parsed.error));
  return parsed.data;
}
