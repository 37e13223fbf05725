import type { INestApplication } from '@nestjs/common';

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  match(path: string): boolean;
}

export interface Route {
  method: 'get' | 'post' | 'put' | 'delete' | 'patch';
  /** The Express path pattern, e.g. `/_dendrite/admin/resetPassword/:userId`. */
  pattern: string;
  layer: Layer;
}

const METHODS = ['get', 'post', 'put', 'delete', 'patch'] as const;

/**
 * Every route the running app serves, read from Express's router, so tests that walk "every
 * route" also cover routes added later. Catch-all layers (Nest's middleware `{/*splat}`) are left out.
 */
export function listRoutes(app: INestApplication): Route[] {
  const express = app.getHttpAdapter().getInstance() as { router: { stack: Layer[] } };
  const routes: Route[] = [];
  for (const layer of express.router.stack) {
    if (!layer.route || /^\{?\/?\*/.test(layer.route.path)) continue;
    for (const method of METHODS) {
      if (layer.route.methods[method]) routes.push({ method, pattern: layer.route.path, layer });
    }
  }
  return routes;
}

/** Values for path parameters by name; anything else gets `fallback`. */
export type ParamValues = Record<string, string>;

/**
 * Fills a path pattern (`:name`, `*name`, optional `{...}` groups) with values and checks that
 * the route really matches the result, so a test never silently hits some other route.
 */
export function fillPath(route: Route, values: ParamValues, fallback = 'x'): string {
  const substitute = (pattern: string) =>
    pattern.replace(/[:*]([A-Za-z_$][A-Za-z0-9_$]*)/g, (_m, name: string) =>
      encodeURIComponent(values[name] ?? fallback),
    );
  // First with the optional groups filled in, then without them.
  const candidates = [
    substitute(route.pattern).replace(/[{}]/g, ''),
    substitute(route.pattern.replace(/\{[^{}]*\}/g, '')),
  ];
  const path = candidates.find((p) => route.layer.match(p));
  if (!path)
    throw new Error(
      `Cannot fill ${route.method.toUpperCase()} ${route.pattern}: tried ${candidates.join(', ')}`,
    );
  return path;
}

export const describeRoute = (r: Route) => `${r.method.toUpperCase()} ${r.pattern}`;
