import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/app-config.js';
import { createWorkerApp } from '../create-app.js';
import { PreflightError, preflight } from '../preflight.js';
import { seedRoom } from './room-seeder.js';

const HELP = `Usage: npm run seed -- [--room-events N] [--members M] [--rooms R] [--prefix P] [--password PW]

Builds large rooms directly in the configured database (DATABASE_URL etc., as the server reads
them) for benchmarks and for trying the admin API by hand. Each room gets M local members (all
joined) and N events in total, real signed events written in batches, not through HTTP.

  --room-events N   events per room, default 10000
  --members M       joined local members per room, default 100
  --rooms R         how many rooms, default 1
  --prefix P        localpart prefix of the members, default "seed" (rooms after the first add _2, _3...)
  --password PW     password of every seeded account, default "seed-password"`;

/** A mistake in the arguments: one line and the usage, exit code 2, as with create-account. */
class UsageError extends Error {}

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      options: {
        'room-events': { type: 'string', default: '10000' },
        members: { type: 'string', default: '100' },
        rooms: { type: 'string', default: '1' },
        prefix: { type: 'string', default: 'seed' },
        password: { type: 'string', default: 'seed-password' },
        help: { type: 'boolean', default: false },
      },
    }).values;
  } catch (err) {
    // Node's message names the option (unknown, value missing); some span several lines.
    throw new UsageError((err as Error).message.replace(/\s+/g, ' '));
  }
}

async function main(): Promise<void> {
  const values = parse(process.argv.slice(2));
  if (values.help) {
    console.log(HELP);
    return;
  }
  const number = (name: string, v: string, min: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer ≥ ${min}`);
    return n;
  };
  const roomEvents = number('room-events', values['room-events'], 1);
  const members = number('members', values.members, 1);
  const rooms = number('rooms', values.rooms, 1);

  // The seeder writes through the application's services, but runs no workers and serves no HTTP.
  const config = loadConfig();
  config.ROLE = 'api';
  config.LOG_LEVEL = 'warn';
  await preflight(config);
  const app = await createWorkerApp(config);
  try {
    for (let r = 0; r < rooms; r++) {
      const prefix = r === 0 ? values.prefix : `${values.prefix}_${r + 1}`;
      let lastPrint = 0;
      const room = await seedRoom(app, {
        roomEvents,
        members,
        prefix,
        password: values.password,
        onProgress: (written, total) => {
          if (written - lastPrint >= 50_000 || written === total) {
            lastPrint = written;
            process.stdout.write(`  ${written}/${total} events\n`);
          }
        },
      });
      console.log(
        `Seeded ${room.roomId}: ${room.events} events, ${room.members.length} members (${room.members[0]} … ) in ${room.seconds.toFixed(1)}s`,
      );
    }
    console.log(`Members' password: ${values.password}`);
  } finally {
    await app.close();
  }
}

main().catch((err: unknown) => {
  if (err instanceof UsageError) {
    console.error(`seed: ${err.message}\n\n${HELP}`);
    process.exit(2);
  }
  console.error(err instanceof ConfigError || err instanceof PreflightError ? err.message : err);
  process.exit(1);
});
