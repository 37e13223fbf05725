import 'reflect-metadata';
import { Type } from 'class-transformer';
import {
  IsArray,
  IsInt,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  ArrayMaxSize,
  ValidateNested,
} from 'class-validator';
import { SyncQuery } from '../../sync/dto/sync.dto.js';
import { MatrixError } from '../errors/matrix-error.js';
import { matrixValidationPipe } from './validation.pipe.js';

class Inner {
  @IsString()
  @MaxLength(5)
  name!: string;
}

class Body {
  @IsOptional()
  @IsString()
  @MaxLength(256)
  display_name?: string;

  @IsOptional()
  @IsArray()
  @IsString({ each: true })
  @ArrayMaxSize(3)
  invite?: string[];

  @IsOptional()
  @IsInt()
  @Max(1000)
  limit?: number;

  @IsOptional()
  @ValidateNested()
  @Type(() => Inner)
  inner?: Inner;
}

async function refusal(value: unknown, metatype: new () => object, type: 'body' | 'query' = 'body') {
  try {
    await matrixValidationPipe.transform(value, { type, metatype });
  } catch (err) {
    expect(err).toBeInstanceOf(MatrixError);
    expect((err as MatrixError).errcode).toBe('M_BAD_JSON');
    return (err as MatrixError).message;
  }
  throw new Error('the value was accepted');
}

describe('matrixValidationPipe', () => {
  it('names the type check when a value has the wrong type, not the rules that fail with it', async () => {
    expect(await refusal({ display_name: 5 }, Body)).toBe('display_name must be a string');
    expect(await refusal({ invite: '@bob:localhost' }, Body)).toBe('invite must be an array');
    expect(await refusal({ limit: 'x' }, Body)).toBe('limit must be an integer number');
    expect(await refusal({ timeout: 'abc' }, SyncQuery, 'query')).toBe('timeout must be an integer number');
  });

  it('names the rule that failed when the type is right', async () => {
    expect(await refusal({ display_name: 'x'.repeat(257) }, Body)).toBe(
      'display_name must be shorter than or equal to 256 characters',
    );
    expect(await refusal({ invite: ['a', 'b', 'c', 'd'] }, Body)).toBe(
      'invite must contain no more than 3 elements',
    );
    expect(await refusal({ limit: 1001 }, Body)).toBe('limit must not be greater than 1000');
  });

  it('gives one message per field, with nested paths, joined', async () => {
    expect(await refusal({ limit: 'x', inner: { name: 7 } }, Body)).toBe(
      'limit must be an integer number; inner.name must be a string',
    );
  });

  it('accepts a valid value', async () => {
    await expect(
      matrixValidationPipe.transform({ display_name: 'ok', limit: 3 }, { type: 'body', metatype: Body }),
    ).resolves.toMatchObject({ display_name: 'ok', limit: 3 });
  });
});
