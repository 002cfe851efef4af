// Path-template routing for HTTP requests and WebSocket upgrades.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { HttpError } from './http.js';

export type Params = Record<string, string>;

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  params: Params;
  query: URLSearchParams;
}

export interface UpgradeContext {
  req: IncomingMessage;
  socket: Duplex;
  head: Buffer;
  params: Params;
  query: URLSearchParams;
}

export interface HttpRoute {
  method: string;
  path: string;
  handle(ctx: RequestContext): Promise<void>;
}

export interface UpgradeRoute {
  path: string;
  /** Throw HttpError to refuse the upgrade with that status and body. */
  handle(ctx: UpgradeContext): Promise<void>;
}

/**
 * Match a path against a template such as /v1/sprites/:name/exec/:id. Segments are
 * percent-decoded; a decoded segment that is empty, `.`/`..` or holds a slash or NUL is refused,
 * so no parameter can name a path outside what it should.
 */
export function matchPath(template: string, pathname: string): Params | null {
  const want = template.split('/');
  const got = pathname.split('/');
  if (got.length > 1 && got[got.length - 1] === '') got.pop();
  if (want.length !== got.length) return null;
  const params: Params = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const g = got[i]!;
    if (w.startsWith(':')) {
      let value: string;
      try {
        value = decodeURIComponent(g);
      } catch {
        throw new HttpError(400, 'invalid_path', `path segment ${JSON.stringify(g)} is not valid percent-encoding`);
      }
      if (value === '' || value === '.' || value === '..' || /[/\\\0]/.test(value)) {
        throw new HttpError(400, 'invalid_path', `invalid ${w.slice(1)} ${JSON.stringify(value)} in path`);
      }
      params[w.slice(1)] = value;
    } else if (w !== g) {
      return null;
    }
  }
  return params;
}

export class Router {
  private readonly http: HttpRoute[] = [];
  private readonly upgrades: UpgradeRoute[] = [];

  add(...routes: HttpRoute[]): void {
    this.http.push(...routes);
  }

  addUpgrade(...routes: UpgradeRoute[]): void {
    this.upgrades.push(...routes);
  }

  /** The route for a request, or an HttpError: 404 when no path matches, 405 when the method does not. */
  findHttp(method: string, pathname: string): { route: HttpRoute; params: Params } {
    let pathMatched = false;
    for (const route of this.http) {
      const params = matchPath(route.path, pathname);
      if (!params) continue;
      pathMatched = true;
      if (route.method === method) return { route, params };
    }
    if (pathMatched) throw new HttpError(405, 'method_not_allowed', `${method} is not allowed on ${pathname}`);
    throw new HttpError(404, 'not_found', `no route for ${method} ${pathname}`);
  }

  findUpgrade(pathname: string): { route: UpgradeRoute; params: Params } {
    for (const route of this.upgrades) {
      const params = matchPath(route.path, pathname);
      if (params) return { route, params };
    }
    throw new HttpError(404, 'not_found', `no WebSocket route for ${pathname}`);
  }
}
