import { Transform, plainToInstance } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  MinLength,
  validateSync,
} from 'class-validator';

export type ProcessRole = 'all' | 'api' | 'worker';
export const PROCESS_ROLES: readonly ProcessRole[] = ['all', 'api', 'worker'];

const toBool = ({ value }: { value: unknown }) => {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off', ''].includes(v)) return false;
  return value; // left as a string so @IsBoolean reports it
};
const toInt = ({ value }: { value: unknown }) =>
  typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
const emptyToUndefined = ({ value }: { value: unknown }) =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

/**
 * Every setting of the configuration contract (DESIGN.md). Property names are the environment
 * variable names so that error messages point straight at what to fix.
 */
export class AppConfig {
  @IsString()
  @Matches(/^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/, {
    message: 'SERVER_NAME must be a host name with an optional :port',
  })
  SERVER_NAME = 'localhost';

  @IsString()
  BIND_ADDRESS = '127.0.0.1';

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 8008;

  @IsString()
  @Matches(/^https?:\/\/\S+$/, { message: 'PUBLIC_BASEURL must be an http(s) URL' })
  PUBLIC_BASEURL = 'http://localhost:8008';

  @IsString()
  @Matches(/^postgres(ql)?:\/\/\S+$/, { message: 'DATABASE_URL must be a postgres:// URL' })
  DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/lattice';

  @IsString()
  @Matches(/^rediss?:\/\/\S+$/, { message: 'REDIS_URL must be a redis:// URL' })
  REDIS_URL = 'redis://127.0.0.1:6379';

  @IsString()
  @Matches(/^[A-Za-z0-9_.-]+$/, { message: 'REDIS_KEY_PREFIX may hold letters, digits, _ . - only' })
  REDIS_KEY_PREFIX = 'lattice';

  @IsIn(PROCESS_ROLES as ProcessRole[], { message: 'ROLE must be one of all, api, worker' })
  ROLE: ProcessRole = 'all';

  @Transform(toBool)
  @IsBoolean()
  ENABLE_REGISTRATION = false;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  @MinLength(1)
  REGISTRATION_SHARED_SECRET?: string;

  @Transform(toBool)
  @IsBoolean()
  SERVER_NOTICES_ENABLED = true;

  @IsString()
  @Matches(/^[a-z0-9._=\-/+]+$/, { message: 'SERVER_NOTICES_LOCALPART must be a valid user localpart' })
  SERVER_NOTICES_LOCALPART = '_server';

  @IsString()
  SERVER_NOTICES_DISPLAY_NAME = 'Server Alert';

  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^mxc:\/\/[^/]+\/[^/]+$/, { message: 'SERVER_NOTICES_AVATAR_URL must be an mxc:// URI' })
  SERVER_NOTICES_AVATAR_URL?: string;

  @IsString()
  SERVER_NOTICES_ROOM_NAME = 'Server Alert';

  @IsString()
  @Matches(/^[a-z_]+$/, { message: 'SEARCH_LANGUAGE must be a PostgreSQL text search configuration name' })
  SEARCH_LANGUAGE = 'english';

  @IsString()
  SIGNING_KEY_PATH = './data/signing.key';

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  FEDERATION_DESTINATIONS?: string;

  /** Comma-separated notary servers asked for a server's keys when the server itself does not answer. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^\s*[A-Za-z0-9.:[\]-]+\s*(,\s*[A-Za-z0-9.:[\]-]+\s*)*$/, {
    message: 'FEDERATION_TRUSTED_KEY_SERVERS must be a comma-separated list of server names',
  })
  FEDERATION_TRUSTED_KEY_SERVERS?: string;

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
    message: 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent',
  })
  LOG_LEVEL = 'info';

  /** Parsed form of FEDERATION_DESTINATIONS. */
  federationDestinations: Record<string, string> = {};

  /** Parsed form of FEDERATION_TRUSTED_KEY_SERVERS. */
  get trustedKeyServers(): string[] {
    return (this.FEDERATION_TRUSTED_KEY_SERVERS ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  }

  get runsHttp(): boolean {
    return this.ROLE !== 'worker';
  }

  get runsWorkers(): boolean {
    return this.ROLE !== 'api';
  }
}

export class ConfigError extends Error {}

const KEYS = Object.keys(new AppConfig()).filter((k) => k === k.toUpperCase());

/** Builds and validates the configuration from an environment map; throws ConfigError listing every problem. */
export function buildConfig(env: Record<string, string | undefined>): AppConfig {
  const raw: Record<string, string> = {};
  for (const key of [
    ...KEYS,
    'REGISTRATION_SHARED_SECRET',
    'SERVER_NOTICES_AVATAR_URL',
    'FEDERATION_DESTINATIONS',
    'FEDERATION_TRUSTED_KEY_SERVERS',
  ]) {
    const value = env[key];
    if (value !== undefined) raw[key] = value;
  }
  const config = plainToInstance(AppConfig, raw);
  const problems = validateSync(config).flatMap((e) => Object.values(e.constraints ?? {}));
  if (config.FEDERATION_DESTINATIONS !== undefined) {
    try {
      const parsed: unknown = JSON.parse(config.FEDERATION_DESTINATIONS);
      if (
        typeof parsed !== 'object' ||
        parsed === null ||
        Array.isArray(parsed) ||
        !Object.values(parsed).every((v) => typeof v === 'string' && /^https?:\/\/\S+$/.test(v))
      ) {
        throw new Error('not a map');
      }
      config.federationDestinations = parsed as Record<string, string>;
    } catch {
      problems.push('FEDERATION_DESTINATIONS must be a JSON object like {"server.name":"http://host:port"}');
    }
  }
  if (problems.length > 0) {
    throw new ConfigError(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
  return config;
}

/** Reads `.env` (if present) into the environment without overriding what is already set, then builds the config. */
export function loadConfig(): AppConfig {
  try {
    process.loadEnvFile('.env');
  } catch {
    // No .env file: the environment alone is the configuration.
  }
  return buildConfig(process.env);
}
