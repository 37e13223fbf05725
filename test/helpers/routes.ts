import type { INestApplication } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import { RouteTable } from '../../src/common/http/route-table.js';

export interface Route {
  method: 'get' | 'post' | 'put' | 'delete' | 'patch';
  /** The router's path pattern, e.g. `/_dendrite/admin/resetPassword/:userId`. */
  pattern: string;
  table: RouteTable;
}

/**
 * Every route the running app serves, as its route table recorded them, so tests that walk "every
 * route" also cover routes added later (catch-alls and HEAD twins are not in the table).
 */
export function listRoutes(app: INestApplication): Route[] {
  const table = RouteTable.of(app.getHttpAdapter().getInstance() as FastifyInstance);
  return table.routes.map((r) => ({
    method: r.method.toLowerCase() as Route['method'],
    pattern: r.url,
    table,
  }));
}

/** Values for path parameters by name; anything else gets `fallback`. */
export type ParamValues = Record<string, string>;

/**
 * Fills a path pattern (`:name` parameters) with values and checks that the route really matches
 * the result, so a test never silently hits some other route.
 */
export function fillPath(route: Route, values: ParamValues, fallback = 'x'): string {
  const path = route.pattern.replace(/:([A-Za-z_$][A-Za-z0-9_$]*)/g, (_m, name: string) =>
    encodeURIComponent(values[name] ?? fallback),
  );
  if (route.table.match(route.method.toUpperCase(), path) !== route.pattern)
    throw new Error(
      `Cannot fill ${route.method.toUpperCase()} ${route.pattern}: ${path} is not served by it`,
    );
  return path;
}

export const describeRoute = (r: Route) => `${r.method.toUpperCase()} ${r.pattern}`;
