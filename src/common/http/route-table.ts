import FindMyWay from 'find-my-way';
import type { FastifyInstance } from 'fastify';

export interface RouteEntry {
  method: string;
  /** The path pattern in the router's syntax, e.g. `/_dendrite/admin/resetPassword/:userId`. */
  url: string;
}

/**
 * Longest path parameter the router matches: as long as Node's header limit allows a URL, so that an
 * over-long ID reaches its route and gets that route's precise error rather than a 404.
 */
export const MAX_PARAM_LENGTH = 16 * 1024;

const tables = new WeakMap<FastifyInstance, RouteTable>();

/**
 * The application's routes, recorded as Fastify registers them, so that a miss can be told apart:
 * unknown path (404) or known path under another method (405). Catch-alls (CORS's `OPTIONS *`)
 * and the HEAD twins of GET routes are left out: every path would "exist" under them.
 */
export class RouteTable {
  readonly routes: RouteEntry[] = [];
  private router: FindMyWay.Instance<FindMyWay.HTTPVersion.V1> | null = null;

  /** A table that records every route registered on `fastify` from now on. */
  static recording(fastify: FastifyInstance): RouteTable {
    const table = new RouteTable();
    fastify.addHook('onRoute', (route) => {
      for (const method of [route.method].flat()) table.add(method, route.url);
    });
    tables.set(fastify, table);
    return table;
  }

  /** The table recorded for this Fastify instance (tests walk every route with it). */
  static of(fastify: FastifyInstance): RouteTable {
    const table = tables.get(fastify);
    if (!table) throw new Error('No route table was recorded for this application');
    return table;
  }

  add(method: string, url: string): void {
    if (method === 'HEAD' || method === 'OPTIONS' || url.includes('*')) return;
    this.routes.push({ method, url });
    this.router = null;
  }

  /** The pattern of the route `method` has for `path` (the request target's path, still encoded), if any. */
  match(method: string, path: string): string | null {
    if (!this.router) {
      this.router = FindMyWay({ ignoreTrailingSlash: true, maxParamLength: MAX_PARAM_LENGTH });
      for (const r of this.routes)
        this.router.on(r.method as FindMyWay.HTTPMethod, r.url, () => undefined, r.url);
    }
    const found = this.router.find(method as FindMyWay.HTTPMethod, path);
    // A path with an empty parameter (`/rooms//state`) is not routed (404): nor matched here.
    if (!found || Object.values(found.params).some((v) => v === '')) return null;
    return found.store as string;
  }

  hasOtherMethod(method: string, path: string): boolean {
    const others = new Set(this.routes.map((r) => r.method).filter((m) => m !== method));
    return [...others].some((m) => this.match(m, path) !== null);
  }
}
