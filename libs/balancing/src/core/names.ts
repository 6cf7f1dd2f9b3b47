/**
 * Pool names and backend ids end up in Redis key names, URLs and log lines, so they are kept to a
 * conservative alphabet (no braces: a brace would break the Redis Cluster hash tag).
 */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
export const NAME_RULE = '1-128 characters: letters, digits, ".", "_", ":" or "-", starting with a letter or digit';

export function isValidName(value: string): boolean {
  return NAME_PATTERN.test(value);
}
