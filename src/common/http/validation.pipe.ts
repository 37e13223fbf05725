import { ValidationPipe, type ValidationError } from '@nestjs/common';
import { M } from '../errors/matrix-error.js';

function describe(errors: ValidationError[], parent = ''): string[] {
  return errors.flatMap((e) => {
    const path = parent ? `${parent}.${e.property}` : e.property;
    const own = Object.values(e.constraints ?? {}).map((c) => c.replace(e.property, path));
    return [...own, ...describe(e.children ?? [], path)];
  });
}

/** class-validator DTOs; a body of the wrong shape is M_BAD_JSON naming the offending fields. */
export const matrixValidationPipe = new ValidationPipe({
  transform: true,
  forbidUnknownValues: false,
  // One message per field: "x must be a string" says it all, the length rule after it is noise.
  stopAtFirstError: true,
  exceptionFactory: (errors) => M.badJson(describe(errors).join('; ') || 'Invalid request body'),
});
