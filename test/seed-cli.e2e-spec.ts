import { join } from 'node:path';
import { compileSources, runScript } from './helpers/compiled-app.js';

/** `npm run seed` is `node dist/src/cli/seed.js`; arguments are checked before any service is touched. */
describe('seed command arguments', () => {
  let build: Awaited<ReturnType<typeof compileSources>>;
  let script: string;

  beforeAll(async () => {
    build = await compileSources();
    script = join(build.dir, 'src', 'cli', 'seed.js');
  });
  afterAll(() => build.remove());

  // Services that do not answer: an argument error must be reported before they are tried.
  const env = { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/lattice', REDIS_URL: 'redis://127.0.0.1:1' };
  const run = (args: string[]) => runScript(script, args, { env });

  it.each([
    ['an unknown option', ['--bogus'], "Unknown option '--bogus'"],
    ['a missing value', ['--rooms', '2', '--room-events'], "Option '--room-events <value>' argument missing"],
    [
      'an option where a value should be',
      ['--members', '--rooms', '2'],
      "Option '--members' argument is ambiguous. Did you forget to specify the option argument for '--members'?",
    ],
    ['a stray argument', ['1000'], "Unexpected argument '1000'"],
    ['a value that is not a number', ['--room-events', 'abc'], '--room-events must be an integer ≥ 1'],
    ['a number below the minimum', ['--rooms', '0'], '--rooms must be an integer ≥ 1'],
  ])('answers %s with one line and the usage, exit code 2', async (_case, args, message) => {
    const res = await run(args);
    expect(res.code).toBe(2);
    expect(res.stdout).toBe('');
    const [line, blank, ...usage] = res.stderr.split('\n');
    expect(line).toMatch(/^seed: /);
    expect(line).toContain(message);
    expect(blank).toBe('');
    expect(usage[0]).toMatch(/^Usage: npm run seed -- /);
    expect(res.stderr).not.toMatch(/^\s+at /m);
  });

  it('prints its usage with --help', async () => {
    const res = await run(['--help']);
    expect(res).toMatchObject({ code: 0, stderr: '' });
    expect(res.stdout).toMatch(/^Usage: npm run seed -- /);
  });
});
