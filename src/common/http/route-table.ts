import type { INestApplication } from '@nestjs/common';

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  match(path: string): boolean;
}

/**
 * The registered routes, read from Express's router after the app is initialised, so a miss can
 * be told apart: unknown path (404) or known path under another method (405).
 */
export class RouteTable {
  private layers: Layer[] = [];

  capture(app: INestApplication): void {
    const express = app.getHttpAdapter().getInstance() as { router?: { stack: Layer[] } };
    this.layers = (express.router?.stack ?? []).filter((l) => l.route !== undefined);
  }

  hasOtherMethod(method: string, path: string): boolean {
    const m = method.toLowerCase();
    return this.layers.some((l) => l.route && !l.route.methods[m] && !l.route.methods._all && l.match(path));
  }
}
