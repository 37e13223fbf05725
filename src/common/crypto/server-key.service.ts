import { Injectable, Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { AppConfig } from '../../config/app-config.js';
import { decodeBase64, encodeBase64 } from './base64.js';
import { SigningKey } from './signing-key.js';

/**
 * The server's ed25519 signing key, in Synapse's key-file format (`ed25519 <version> <seed>`),
 * generated on first start. Every process of one server must share the same file.
 */
@Injectable()
export class ServerKeyService {
  readonly key: SigningKey;
  private readonly logger = new Logger(ServerKeyService.name);

  constructor(private readonly config: AppConfig) {
    this.key = this.loadOrCreate(config.SIGNING_KEY_PATH);
  }

  get serverName(): string {
    return this.config.SERVER_NAME;
  }

  /** Signs a JSON object as this server. */
  sign<T extends Record<string, unknown>>(obj: T) {
    return this.key.signJson(this.config.SERVER_NAME, obj);
  }

  private loadOrCreate(path: string): SigningKey {
    if (existsSync(path)) return parseKeyFile(readFileSync(path, 'utf8'), path);
    const version = `a_${randomBytes(3)
      .toString('base64url')
      .replace(/[^A-Za-z0-9_]/g, '_')}`;
    const content = `ed25519 ${version} ${encodeBase64(randomBytes(32))}\n`;
    mkdirSync(dirname(path), { recursive: true });
    try {
      // 'wx': if another process created it in the meantime, keep theirs.
      writeFileSync(path, content, { flag: 'wx', mode: 0o600 });
      this.logger.log(`Generated a new signing key ed25519:${version} at ${path}`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    return parseKeyFile(readFileSync(path, 'utf8'), path);
  }
}

function parseKeyFile(text: string, path: string): SigningKey {
  const line = text.split('\n').find((l) => l.trim().startsWith('ed25519 '));
  const parts = line?.trim().split(/\s+/);
  if (!parts || parts.length !== 3 || !/^[A-Za-z0-9_]+$/.test(parts[1])) {
    throw new Error(`${path} is not a signing key file (expected "ed25519 <version> <base64 seed>")`);
  }
  return new SigningKey(`ed25519:${parts[1]}`, decodeBase64(parts[2]));
}
