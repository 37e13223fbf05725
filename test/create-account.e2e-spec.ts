import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileSources, freePort, runScript, scratchDir } from './helpers/compiled-app.js';
import { SHARED_SECRET, TestApp } from './helpers/test-app.js';

const PASSWORD = 'a strong password';

/** `npm run create-account` is `node dist/src/cli/create-account.js`; this runs the same script, compiled from the current sources. */
describe('create-account command', () => {
  let t: TestApp;
  let disabled: TestApp;
  let build: Awaited<ReturnType<typeof compileSources>>;
  let script: string;

  beforeAll(async () => {
    [t, disabled, build] = await Promise.all([
      TestApp.start(),
      TestApp.start({ REGISTRATION_SHARED_SECRET: '' }),
      compileSources(),
    ]);
    script = join(build.dir, 'src', 'cli', 'create-account.js');
  });
  afterAll(async () => {
    build.remove();
    await t.close();
    await disabled.close();
  });

  const run = (args: string[], stdin?: string, env: Record<string, string> = {}, cwd?: string) =>
    runScript(script, args, { env, stdin, cwd });
  const accountType = async (localpart: string) =>
    (
      await t.sql<{ account_type: number }>(
        `SELECT account_type FROM userapi_accounts WHERE localpart = $1`,
        [localpart],
      )
    )[0]?.account_type;
  const login = (user: string, password: string) =>
    t.http.post('/_matrix/client/v3/login').send({ type: 'm.login.password', user, password });

  it('creates an admin from a password on standard input and prints the user ID', async () => {
    const res = await run(
      ['--username', 'alice', '--admin', '--password-stdin', '--url', t.baseUrl, '--secret', SHARED_SECRET],
      `${PASSWORD}\n`,
    );
    expect(res).toMatchObject({ code: 0, stdout: '@alice:test\n', stderr: '' });
    expect(await accountType('alice')).toBe(3);
    // The line break that ends the piped password is not part of it.
    expect((await login('alice', PASSWORD)).status).toBe(200);
  });

  it('creates a plain user with a display name', async () => {
    const res = await run(
      [
        '--username',
        'bob',
        '--displayname',
        'Bob B.',
        '--password-stdin',
        '--url',
        t.baseUrl,
        '--secret',
        SHARED_SECRET,
      ],
      PASSWORD,
    );
    expect(res.code).toBe(0);
    expect(res.stdout).toBe('@bob:test\n');
    expect(await accountType('bob')).toBe(1);
    expect((await t.http.get('/_matrix/client/v3/profile/@bob:test')).body).toEqual({
      displayname: 'Bob B.',
    });
  });

  it('takes the URL and secret from the local configuration (.env) by default', async () => {
    const cwd = scratchDir();
    const port = new URL(t.baseUrl).port;
    writeFileSync(join(cwd, '.env'), `PORT=${port}\nREGISTRATION_SHARED_SECRET=${SHARED_SECRET}\n`);
    const res = await run(['--username', 'carol', '--password-stdin'], PASSWORD, {}, cwd);
    expect(res).toMatchObject({ code: 0, stdout: '@carol:test\n' });

    // The environment works as well as .env (and wins over it, as for the server).
    const fromEnv = await run(['--username', 'dave', '--password-stdin'], PASSWORD, {
      PORT: port,
      BIND_ADDRESS: '0.0.0.0',
      REGISTRATION_SHARED_SECRET: SHARED_SECRET,
    });
    expect(fromEnv).toMatchObject({ code: 0, stdout: '@dave:test\n' });
  });

  /** Runs the command on a terminal (util-linux script(1)), typing each answer once its prompt shows. */
  async function onTerminal(args: string[], dialogue: [prompt: string, typed: string][]) {
    if (!existsSync('/usr/bin/script'))
      throw new Error('these tests need util-linux script(1) for a terminal');
    const command = [process.execPath, script, ...args].map((a) => `'${a}'`).join(' ');
    const child = spawn('script', ['-qec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    const waiters: (() => void)[] = [];
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
      waiters.splice(0).forEach((w) => w());
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    let from = 0;
    for (const [prompt, typed] of dialogue) {
      while (output.indexOf(prompt, from) < 0) await new Promise<void>((resolve) => waiters.push(resolve));
      from = output.indexOf(prompt, from) + prompt.length;
      child.stdin.write(typed);
    }
    const code = await exited;
    return { code, output };
  }

  it('asks for the password twice on a terminal without echoing it', async () => {
    const res = await onTerminal(
      ['--username', 'erin', '--url', t.baseUrl, '--secret', SHARED_SECRET],
      [
        ['Password: ', `${PASSWORD}\r`],
        ['Confirm password: ', `${PASSWORD}\r`],
      ],
    );
    expect(res.code).toBe(0);
    expect(res.output).toContain('@erin:test');
    expect(res.output).not.toContain(PASSWORD);
    expect((await login('erin', PASSWORD)).status).toBe(200);
  });

  it('does not echo an answer typed ahead of its prompt either', async () => {
    const res = await onTerminal(
      ['--username', 'fiona', '--admin', '--url', t.baseUrl, '--secret', SHARED_SECRET],
      [['Password: ', `${PASSWORD}\r${PASSWORD}\r`]],
    );
    expect(res.code).toBe(0);
    expect(res.output).toContain('@fiona:test');
    expect(res.output).not.toContain(PASSWORD);
    expect(await accountType('fiona')).toBe(3);
  });

  it('refuses two different passwords on the terminal', async () => {
    const res = await onTerminal(
      ['--username', 'gina', '--url', t.baseUrl, '--secret', SHARED_SECRET],
      [
        ['Password: ', `${PASSWORD}\r`],
        ['Confirm password: ', 'something else\r'],
      ],
    );
    expect(res.code).toBe(1);
    expect(res.output).toContain('create-account: the passwords do not match');
    expect(await accountType('gina')).toBeUndefined();
  });

  it.each([
    [
      'a wrong secret',
      () => ['--username', 'mallory', '--password-stdin', '--url', t.baseUrl, '--secret', 'wrong'],
      /refused the shared secret/,
    ],
    [
      'a taken username',
      () => ['--username', 'alice', '--password-stdin', '--url', t.baseUrl, '--secret', SHARED_SECRET],
      /M_USER_IN_USE/,
    ],
    [
      'an invalid username',
      () => ['--username', 'not valid', '--password-stdin', '--url', t.baseUrl, '--secret', SHARED_SECRET],
      /M_INVALID_USERNAME/,
    ],
    [
      'a server with shared-secret registration turned off',
      () => ['--username', 'frank', '--password-stdin', '--url', disabled.baseUrl, '--secret', SHARED_SECRET],
      /turned off: set REGISTRATION_SHARED_SECRET/,
    ],
  ])('fails clearly on %s', async (_case, args, message) => {
    const res = await run(args(), PASSWORD);
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(/^create-account: /);
    expect(res.stderr).toMatch(message);
  });

  it.each([
    ['no username', ['--password-stdin', '--secret', SHARED_SECRET], '--username is required'],
    ['an unknown option', ['--username', 'x', '--pasword-stdin'], "Unknown option '--pasword-stdin'"],
    ['a missing value', ['--username', 'x', '--url'], "Option '--url <value>' argument missing"],
    [
      'an option where a value should be',
      ['--username', 'x', '--url', '--secret', SHARED_SECRET],
      "Option '--url' argument is ambiguous. Did you forget to specify the option argument for '--url'?",
    ],
    ['a stray argument', ['--username', 'x', 'extra'], "Unexpected argument 'extra'"],
  ])('answers %s with one line and the usage, exit code 2', async (_case, args, message) => {
    const res = await run(args, PASSWORD);
    expect(res.code).toBe(2);
    expect(res.stdout).toBe('');
    const [line, blank, ...usage] = res.stderr.split('\n');
    expect(line).toMatch(/^create-account: /);
    expect(line).toContain(message);
    expect(blank).toBe('');
    expect(usage[0]).toMatch(/^Usage: npm run create-account -- --username NAME/);
  });

  it('fails clearly on a weak password', async () => {
    const res = await run(
      ['--username', 'grace', '--password-stdin', '--url', t.baseUrl, '--secret', SHARED_SECRET],
      'short',
    );
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/M_WEAK_PASSWORD/);
  });

  it('fails clearly when no server listens', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const res = await run(
      ['--username', 'henry', '--password-stdin', '--url', url, '--secret', SHARED_SECRET],
      PASSWORD,
    );
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(
      `create-account: cannot reach the server at ${url} (ECONNREFUSED): is it running? Start it with "npm start", or pass --url\n`,
    );
  });

  it('fails clearly when there is no secret to use and no terminal for the password', async () => {
    const noSecret = await run(['--username', 'ivan', '--password-stdin', '--url', t.baseUrl], PASSWORD);
    expect(noSecret.code).toBe(1);
    expect(noSecret.stderr).toMatch(/no shared secret: set REGISTRATION_SHARED_SECRET .* or pass --secret/);

    const noTty = await run(['--username', 'ivan', '--url', t.baseUrl, '--secret', SHARED_SECRET]);
    expect(noTty.code).toBe(1);
    expect(noTty.stderr).toMatch(/--password-stdin/);
    expect(await accountType('ivan')).toBeUndefined();
  });

  it('prints its usage with --help', async () => {
    const res = await run(['--help']);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('Usage: npm run create-account -- --username NAME');
  });
});
