/** The little YAML the stack writes for Go servers' configuration files. */
export type Yaml = string | number | boolean | Yaml[] | { [key: string]: Yaml };

/** YAML by hand: scalars as JSON (JSON strings are YAML double-quoted strings), maps and lists nested. */
export function toYaml(value: Yaml, indent = ''): string {
  if (Array.isArray(value)) {
    return value
      .map((item) =>
        typeof item === 'object'
          ? `${indent}-\n${toYaml(item, `${indent}  `)}`
          : `${indent}- ${JSON.stringify(item)}\n`,
      )
      .join('');
  }
  if (typeof value === 'object') {
    return Object.entries(value)
      .map(([key, item]) =>
        typeof item === 'object'
          ? Array.isArray(item) && item.length === 0
            ? `${indent}${key}: []\n`
            : `${indent}${key}:\n${toYaml(item, `${indent}  `)}`
          : `${indent}${key}: ${JSON.stringify(item)}\n`,
      )
      .join('');
  }
  return `${indent}${JSON.stringify(value)}\n`;
}
