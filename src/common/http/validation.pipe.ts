import { ValidationPipe, type ValidationError } from '@nestjs/common';
import { M } from '../errors/matrix-error.js';

/**
 * Checks of what a value is. When one of them fails, the field's other rules (lengths, ranges,
 * sizes) fail too and only say it less clearly ("limit must not be greater than 1000" for
 * `limit=abc`), so the message names the type check.
 */
const TYPE_CHECKS = [
  'isDefined',
  'isString',
  'isInt',
  'isNumber',
  'isBoolean',
  'isArray',
  'isObject',
  'isIn',
  'isEnum',
];

/** One message per offending field (the type check if one failed), with its path from the body's root. */
export function describeValidationErrors(errors: ValidationError[], parent = ''): string[] {
  return errors.flatMap((e) => {
    const path = parent ? `${parent}.${e.property}` : e.property;
    const constraints = e.constraints ?? {};
    const key = TYPE_CHECKS.find((k) => k in constraints) ?? Object.keys(constraints)[0];
    const own = key ? [constraints[key].replace(e.property, path)] : [];
    return [...own, ...describeValidationErrors(e.children ?? [], path)];
  });
}

/** class-validator DTOs; a body of the wrong shape is M_BAD_JSON naming the offending fields. */
export const matrixValidationPipe = new ValidationPipe({
  transform: true,
  forbidUnknownValues: false,
  exceptionFactory: (errors) =>
    M.badJson(describeValidationErrors(errors).join('; ') || 'Invalid request body'),
});
