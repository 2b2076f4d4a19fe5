import fs from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';

/**
 * A JSON file of development secrets in the data directory: read when it exists, else made once
 * by `create` and written owner-only (0600) with an exclusive create, so two processes starting
 * together keep the first one's secrets. Errors name the file, never its content.
 */
export function readOrCreateSecretFile<S extends z.ZodType>(
  file: string,
  schema: S,
  create: () => z.output<S>,
  what: string,
): z.output<S> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  try {
    fs.writeFileSync(file, `${JSON.stringify(create(), null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    // A file copied in by hand may be readable by others: secrets stay the owner's.
    fs.chmodSync(file, 0o600);
  }
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    throw new Error(`${what} (${file}) are not valid JSON`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new Error(
      `${what} (${file}) are invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  return parsed.data;
}
