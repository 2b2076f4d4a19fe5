import fs from 'node:fs';
import type { z } from 'zod';

/**
 * Secret configuration given as JSON in `NAME` or in a file at `NAME_FILE`; null when neither is
 * set. Errors never quote the input (JSON.parse does), so no secret reaches a log that way.
 */
export function readSecretJson<S extends z.ZodType>(
  env: NodeJS.ProcessEnv,
  name: string,
  schema: S,
  what: string,
): z.output<S> | null {
  const file = env[`${name}_FILE`];
  const text = env[name] ?? (file ? fs.readFileSync(file, 'utf8') : null);
  if (text === null) return null;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`${what} are not valid JSON`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new Error(`${what} are invalid: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  return parsed.data;
}
