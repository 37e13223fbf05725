import { cpus } from 'node:os';
import type { BenchFigure } from './lib.js';

/**
 * `npm run bench [-- name...]`: runs the benchmarks (rooms, admin-rooms, search) against real
 * server processes on the local PostgreSQL and Redis, and prints their figures with the targets.
 */
const SUITES: Record<string, string> = {
  rooms: './rooms.bench.js',
  'admin-rooms': './admin-rooms.bench.js',
  search: './search.bench.js',
};

const load = (file: string): Promise<{ run: () => Promise<BenchFigure[]> }> =>
  import(new URL(file, import.meta.url).href);

async function main(): Promise<void> {
  const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const names = wanted.length > 0 ? wanted : Object.keys(SUITES);
  console.log(`Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}\n`);
  const rows: string[] = ['| benchmark | result | target |', '| --- | --- | --- |'];
  for (const name of names) {
    const file = SUITES[name];
    if (!file) throw new Error(`unknown benchmark ${name}; known: ${Object.keys(SUITES).join(', ')}`);
    console.log(`== ${name}`);
    const figures = await (await load(file)).run();
    for (const f of figures) {
      console.log(
        `  ${f.name}: ${f.value}${f.target ? `  (target ${f.target}: ${f.ok ? 'met' : 'MISSED'})` : ''}`,
      );
      rows.push(`| ${f.name} | ${f.value} | ${f.target ? `${f.target} ${f.ok ? '✓' : '✗'}` : ''} |`);
    }
  }
  console.log(`\n${rows.join('\n')}`);
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
