import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { registrationMac } from '../admin/services/shared-secret.js';
import { ConfigError, loadConfig } from '../config/app-config.js';

const HELP = `Usage: npm run create-account -- --username NAME [--admin] [--password-stdin]
                              [--displayname NAME] [--url URL] [--secret SECRET]

Creates an account on a running Lattice server through shared-secret registration
(/_synapse/admin/v1/register) and prints its user ID.

  --username NAME      the localpart of the new user (required)
  --admin              make the account a server admin (account_type 3)
  --password-stdin     read the password from standard input instead of asking for it
  --displayname NAME   display name (default: the username)
  --url URL            the server (default: http://127.0.0.1:PORT from the local configuration)
  --secret SECRET      the shared secret (default: REGISTRATION_SHARED_SECRET from the local
                       configuration, i.e. the environment or ./.env)`;

/** A failure the user can act on: printed as one line, exit code 1. */
export class CliError extends Error {}

/** A mistake in the arguments: one line and the usage, exit code 2. */
class UsageError extends CliError {}

export interface NewAccount {
  url: string;
  secret: string;
  username: string;
  password: string;
  admin: boolean;
  displayname?: string;
}

/** Registers the account with the shared secret (GET a nonce, POST the MAC) and returns the new user ID. */
export async function createAccount(account: NewAccount): Promise<string> {
  const endpoint = `${account.url.replace(/\/+$/, '')}/_synapse/admin/v1/register`;
  const { nonce } = await call<{ nonce: string }>(account.url, endpoint, { method: 'GET' });
  const mac = registrationMac(account.secret, nonce, account.username, account.password, account.admin);
  const body = {
    nonce,
    username: account.username,
    password: account.password,
    admin: account.admin,
    mac,
    ...(account.displayname ? { displayname: account.displayname } : {}),
  };
  const result = await call<{ user_id: string }>(account.url, endpoint, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return result.user_id;
}

async function call<T>(base: string, endpoint: string, init: RequestInit): Promise<T> {
  let res: Response;
  try {
    res = await fetch(endpoint, init);
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new CliError(
      `cannot reach the server at ${base} (${cause?.code ?? cause?.message ?? String(err)}): is it running? Start it with "npm start", or pass --url`,
    );
  }
  let payload: { errcode?: string; error?: string } & Record<string, unknown>;
  try {
    payload = (await res.json()) as typeof payload;
  } catch {
    throw new CliError(`${base} answered ${res.status} without JSON: is it a Lattice server?`);
  }
  if (res.ok) return payload as T;
  if (res.status === 404 && payload.errcode === 'M_UNRECOGNIZED') {
    throw new CliError(
      `the server at ${base} has shared-secret registration turned off: set REGISTRATION_SHARED_SECRET in its configuration and restart it`,
    );
  }
  if (res.status === 403 && payload.error === 'bad mac') {
    throw new CliError(
      `the server refused the shared secret: --secret (or REGISTRATION_SHARED_SECRET here) must be the server's REGISTRATION_SHARED_SECRET`,
    );
  }
  throw new CliError(
    `the server refused: ${payload.errcode ?? res.status}: ${payload.error ?? res.statusText}`,
  );
}

interface Io {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** The command: parses arguments, fills the defaults from the local configuration, asks for the password. */
export async function main(argv: string[], io: Io = process): Promise<number> {
  try {
    const args = parse(argv);
    if (args.help) {
      io.stdout.write(`${HELP}\n`);
      return 0;
    }
    if (!args.username) throw new UsageError('--username is required');
    const { url, secret } = defaults(args.url, args.secret);
    const password = args.passwordStdin ? await readAll(io.stdin) : await askPassword(io);
    const userId = await createAccount({
      url,
      secret,
      username: args.username,
      password,
      admin: args.admin,
      displayname: args.displayname,
    });
    io.stdout.write(`${userId}\n`);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`create-account: ${err.message}\n\n${HELP}\n`);
      return 2;
    }
    if (!(err instanceof CliError)) throw err;
    io.stderr.write(`create-account: ${err.message}\n`);
    return 1;
  }
}

function parse(argv: string[]) {
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        username: { type: 'string' },
        admin: { type: 'boolean', default: false },
        'password-stdin': { type: 'boolean', default: false },
        displayname: { type: 'string' },
        url: { type: 'string' },
        secret: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    });
    return {
      username: values.username,
      admin: values.admin,
      passwordStdin: values['password-stdin'],
      displayname: values.displayname,
      url: values.url,
      secret: values.secret,
      help: values.help,
    };
  } catch (err) {
    // Node's message names the option (unknown, value missing); some span several lines.
    throw new UsageError((err as Error).message.replace(/\s+/g, ' '));
  }
}

/** --url and --secret, or what the server on this machine is configured with. */
function defaults(url: string | undefined, secret: string | undefined): { url: string; secret: string } {
  if (url !== undefined && secret !== undefined) return { url, secret };
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new CliError(
      `cannot read the local configuration for the defaults (pass --url and --secret): ${err.message}`,
    );
  }
  const wildcard = ['0.0.0.0', '::', '[::]', ''].includes(config.BIND_ADDRESS);
  const host = wildcard
    ? '127.0.0.1'
    : config.BIND_ADDRESS.includes(':')
      ? `[${config.BIND_ADDRESS}]`
      : config.BIND_ADDRESS;
  const resolvedSecret = secret ?? config.REGISTRATION_SHARED_SECRET;
  if (!resolvedSecret) {
    throw new CliError(
      'no shared secret: set REGISTRATION_SHARED_SECRET (in the environment or .env, the same as the server) or pass --secret',
    );
  }
  return { url: url ?? `http://${host}:${config.PORT}`, secret: resolvedSecret };
}

/** The whole of standard input, without the line break `echo` or a here-string adds. */
async function readAll(stdin: NodeJS.ReadStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  const password = Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
  if (password === '') throw new CliError('no password on standard input');
  return password;
}

/** Asks twice on the terminal without echoing. */
async function askPassword(io: Io): Promise<string> {
  if (!io.stdin.isTTY) {
    throw new CliError('no terminal to ask for the password on: pipe it in with --password-stdin');
  }
  const terminal = new HiddenInput(io);
  try {
    const first = await terminal.ask('Password: ');
    const second = await terminal.ask('Confirm password: ');
    if (first !== second) throw new CliError('the passwords do not match');
    if (first === '') throw new CliError('the password is empty');
    return first;
  } finally {
    terminal.close();
  }
}

/**
 * Reads lines from a terminal in raw mode, so nothing typed is echoed. Raw mode is on before the
 * first prompt appears and stays on between prompts: typing ahead never shows.
 */
class HiddenInput {
  private buffer = '';
  private afterCr = false;
  private waiting: { resolve: (line: string) => void; reject: (err: Error) => void } | null = null;
  private readonly onData = (data: Buffer) => {
    for (const ch of data.toString('utf8')) {
      if (ch === '\u0003' || ch === '\u0004') {
        this.waiting?.reject(new CliError('cancelled'));
        this.waiting = null;
        return;
      }
      const crlf = ch === '\n' && this.afterCr;
      this.afterCr = ch === '\r';
      if (crlf) continue;
      if (ch === '\r' || ch === '\n') {
        this.deliver();
      } else if (ch === '\u007f' || ch === '\b') {
        this.buffer = this.buffer.slice(0, -1);
      } else if (ch >= ' ') {
        this.buffer += ch;
      }
    }
  };
  private readonly lines: string[] = [];

  constructor(private readonly io: Io) {
    io.stdin.setRawMode(true);
    io.stdin.on('data', this.onData);
    io.stdin.resume();
  }

  ask(prompt: string): Promise<string> {
    this.io.stderr.write(prompt);
    return new Promise((resolve, reject) => {
      const answer = (line: string) => {
        this.io.stderr.write('\n');
        resolve(line);
      };
      const ready = this.lines.shift();
      if (ready !== undefined) answer(ready);
      else this.waiting = { resolve: answer, reject };
    });
  }

  close(): void {
    this.io.stdin.off('data', this.onData);
    this.io.stdin.setRawMode(false);
    this.io.stdin.pause();
  }

  private deliver(): void {
    const line = this.buffer;
    this.buffer = '';
    if (this.waiting) {
      const { resolve } = this.waiting;
      this.waiting = null;
      resolve(line);
    } else {
      this.lines.push(line);
    }
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
