/**
 * Light shape checks for what reaches a workflow's validator. The API validates every input in
 * full with its zod schema (`staff-action-schemas.ts`) and sends it in normal form; the workflow
 * checks only what its guards and handlers rely on: the fields are there, of the right kind, of
 * bounded size, trimmed, with no unknown keys. No zod: each open workflow would evaluate its own
 * copy of it (bench/RESULTS.md, "Per-workflow memory").
 */

/** A check of one value: null when it fits, else "path: what was expected". */
export type Shape = ((value: unknown, path: string) => string | null) & { optional?: true };

const at = (path: string) => path || 'input';

/** A trimmed string of `min`–`max` characters. */
export const text =
  (max: number, min = 1): Shape =>
  (value, path) => {
    if (typeof value !== 'string') return `${at(path)}: a string`;
    if (value.length < min || value.length > max) return `${at(path)}: ${min}–${max} characters`;
    if (value !== value.trim()) return `${at(path)}: not in normal form (trimmed)`;
    return null;
  };

/** A string matching `pattern` (which bounds its length). */
export const matching =
  (pattern: RegExp, what: string): Shape =>
  (value, path) =>
    typeof value === 'string' && pattern.test(value) ? null : `${at(path)}: ${what}`;

/** A UTC instant as the API sends it (`Date.prototype.toISOString`). */
export const instant: Shape = (value, path) => {
  const issue = matching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/, 'a UTC instant (ISO 8601, Z)')(value, path);
  // A real instant: 2021-13-01T… matches the pattern, and would break every date the workflow prints.
  const at = Date.parse(value as string);
  return (
    issue ?? (Number.isFinite(at) && new Date(at).toISOString() === value ? null : `${path || 'input'}: a real instant`)
  );
};

export const sha256Hex = matching(/^[0-9a-f]{64}$/, 'a sha256 in lowercase hex');

export const oneOf =
  (values: readonly (string | boolean)[]): Shape =>
  (value, path) =>
    values.includes(value as string) ? null : `${at(path)}: one of ${values.join(', ')}`;

export const number =
  (min: number, max: number, integer = false): Shape =>
  (value, path) => {
    if (typeof value !== 'number' || !Number.isFinite(value)) return `${at(path)}: a number`;
    if (integer && !Number.isInteger(value)) return `${at(path)}: an integer`;
    return value < min || value > max ? `${at(path)}: between ${min} and ${max}` : null;
  };

export const list =
  (item: Shape, min: number, max: number, unique = false): Shape =>
  (value, path) => {
    if (!Array.isArray(value)) return `${at(path)}: a list`;
    if (value.length < min || value.length > max) return `${at(path)}: ${min}–${max} entries`;
    if (unique && new Set(value).size !== value.length) return `${at(path)}: each entry once`;
    for (let i = 0; i < value.length; i++) {
      const issue = item(value[i], `${path}.${i}`);
      if (issue) return issue;
    }
    return null;
  };

/** A field that may be absent. */
export const optional = (shape: Shape): Shape =>
  Object.assign((value: unknown, path: string) => shape(value, path), {
    optional: true as const,
  });

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** An object with exactly these fields (optional ones may be absent, none other may be present). */
export const object =
  (fields: Record<string, Shape>): Shape =>
  (value, path) => {
    if (!isRecord(value)) return `${at(path)}: an object`;
    for (const key of Object.keys(value)) {
      if (!Object.hasOwn(fields, key)) return `${path ? `${path}.` : ''}${key}: not a known field`;
    }
    for (const [key, shape] of Object.entries(fields)) {
      const inner = path ? `${path}.${key}` : key;
      if (value[key] === undefined) {
        if (shape.optional) continue;
        return `${inner}: required`;
      }
      const issue = shape(value[key], inner);
      if (issue) return issue;
    }
    return null;
  };

/** One object shape per value of the discriminating field. */
export const variants =
  (key: string, byValue: Record<string, Shape>): Shape =>
  (value, path) => {
    const which = isRecord(value) ? value[key] : undefined;
    const shape = typeof which === 'string' && Object.hasOwn(byValue, which) ? byValue[which] : undefined;
    if (!shape) return `${path ? `${path}.` : ''}${key}: one of ${Object.keys(byValue).join(', ')}`;
    return shape(value, path);
  };
