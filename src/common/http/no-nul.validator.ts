import { ValidateBy, buildMessage, type ValidationOptions } from 'class-validator';

/**
 * Whether a value holds a NUL character anywhere (strings, object keys, nested). PostgreSQL cannot
 * store NUL in text or jsonb, so such input must be refused as bad input before it reaches SQL.
 * Iterative, so deep values cannot overflow the stack.
 */
export function hasNul(value: unknown): boolean {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const v = pending.pop();
    if (typeof v === 'string') {
      if (v.includes('\0')) return true;
    } else if (typeof v === 'object' && v !== null) {
      for (const [key, child] of Object.entries(v)) {
        if (key.includes('\0')) return true;
        pending.push(child);
      }
    }
  }
  return false;
}

/** DTO rule: the field (a string, or with `each` every element) holds no NUL character. */
export const NoNul = (options?: ValidationOptions) =>
  ValidateBy(
    {
      name: 'noNul',
      validator: {
        validate: (value: unknown) => !hasNul(value),
        defaultMessage: buildMessage((each) => `${each}$property must not contain NUL characters`, options),
      },
    },
    options,
  );
