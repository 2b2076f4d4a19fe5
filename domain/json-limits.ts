/**
 * Limits on the shape of JSON a client sends, checked without recursion: a body nested thousands
 * of levels deep must get a refusal, not a stack overflow in whatever walks it next (zod, a NUL
 * check, JSON.stringify, the workflow's validator). Deterministic, so workflows use it too.
 */

/** Deeper than any form or action needs (the application form is four levels deep). */
export const MAX_JSON_DEPTH = 32;

/** Whether `value` nests objects/arrays more than `max` levels deep (a scalar is depth 0). */
export function nestedDeeperThan(value: unknown, max: number = MAX_JSON_DEPTH): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [current, depth] = stack.pop()!;
    if (current === null || typeof current !== 'object') continue;
    if (depth + 1 > max) return true;
    for (const inner of Object.values(current)) stack.push([inner, depth + 1]);
  }
  return false;
}

/** PostgreSQL cannot store NUL in text: the dotted path of the first string holding one, or null. */
export function nulPath(value: unknown): string | null {
  // Each entry points at its parent, so the path is built only for the string found: copying
  // paths on the way down would be quadratic in the depth.
  interface Step {
    value: unknown;
    key: string;
    parent: Step | null;
  }
  const stack: Step[] = [{ value, key: '', parent: null }];
  while (stack.length) {
    const step = stack.pop()!;
    if (typeof step.value === 'string') {
      if (!step.value.includes('\u0000')) continue;
      const path: string[] = [];
      for (let at: Step | null = step; at?.parent; at = at.parent) path.push(at.key);
      return path.reverse().join('.');
    }
    if (step.value && typeof step.value === 'object') {
      // Reversed onto the stack so that the first key is looked at first, as a reader would.
      const entries = Object.entries(step.value);
      for (let i = entries.length - 1; i >= 0; i--)
        stack.push({ value: entries[i]![1], key: entries[i]![0], parent: step });
    }
  }
  return null;
}

/** What is wrong with the shape of a JSON input before any schema looks at it, if anything. */
export type JsonShapeIssue = { kind: 'too-deep' } | { kind: 'nul'; path: string };

/** The checks every JSON input passes first, at the API's door and in the workflow's validators. */
export function jsonShapeIssue(value: unknown): JsonShapeIssue | null {
  if (nestedDeeperThan(value, MAX_JSON_DEPTH)) return { kind: 'too-deep' };
  const path = nulPath(value);
  return path === null ? null : { kind: 'nul', path };
}
