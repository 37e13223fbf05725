import { readFileSync } from 'node:fs';
import { load } from 'js-yaml';
import { buildConfig } from '../src/config/app-config.js';

/**
 * The configuration contract is documented three times (README table, .env.example,
 * docker-compose.yml); these checks keep all three in step with the settings the code reads.
 */
const read = (path: string) => readFileSync(path, 'utf8');

/** The settings AppConfig declares: its upper-case properties. */
function settingNames(): string[] {
  const source = read('src/config/app-config.ts');
  return [...source.matchAll(/^ {2}([A-Z][A-Z0-9_]+)[?]?[:\s=]/gm)].map((m) => m[1]);
}

interface Compose {
  services: Record<
    string,
    { image?: string; build?: unknown; environment?: Record<string, string>; profiles?: string[] }
  >;
}

describe('configuration documentation', () => {
  const names = settingNames();

  it('finds the settings of the contract', () => {
    expect(names).toEqual(
      expect.arrayContaining([
        'SERVER_NAME',
        'DATABASE_URL',
        'REDIS_URL',
        'ROLE',
        'REGISTRATION_SHARED_SECRET',
        'LOG_LEVEL',
      ]),
    );
  });

  it('the README documents every setting in its table', () => {
    const readme = read('README.md');
    const missing = names.filter((n) => !readme.includes(`| \`${n}\` |`));
    expect(missing).toEqual([]);
  });

  it('.env.example lists every setting with its real default', () => {
    const lines = read('.env.example').split('\n');
    const entries = new Map<string, string>();
    for (const line of lines) {
      const m = /^#? ?([A-Z][A-Z0-9_]+)=(.*)$/.exec(line);
      if (m) entries.set(m[1], m[2]);
    }
    expect(names.filter((n) => !entries.has(n))).toEqual([]);
    const defaults = buildConfig({}) as unknown as Record<string, unknown>;
    for (const [name, value] of entries) {
      expect(names).toContain(name);
      expect([name, value]).toEqual([name, defaults[name] === undefined ? '' : String(defaults[name])]);
    }
  });

  it('docker-compose.yml runs postgres:15, redis:7 and the server built from the Dockerfile with every setting', () => {
    const compose = load(read('docker-compose.yml')) as Compose;
    expect(compose.services.postgres.image).toBe('postgres:15');
    expect(compose.services.redis.image).toBe('redis:7');
    const lattice = compose.services.lattice;
    expect(lattice.build).toBe('.');
    // BIND_ADDRESS and PORT are set by the image itself.
    const dockerfile = read('Dockerfile');
    const passed = (n: string) => n in (lattice.environment ?? {}) || new RegExp(`\\b${n}=`).test(dockerfile);
    expect(names.filter((n) => !passed(n))).toEqual([]);
    expect(lattice.environment?.DATABASE_URL).toMatch(/@postgres:5432\//);
    expect(lattice.environment?.REDIS_URL).toBe('redis://redis:6379');
    expect(compose.services.worker.environment?.ROLE).toBe('worker');
    expect(dockerfile).toMatch(/CMD \["node", "dist\/src\/main\.js"\]/);
  });
});
