import { ErrorCode } from './answers';

/** The routes of the API (DESIGN.md, "Wire contract"), as serverless.yml declares them. */
export const API_ROUTES = [
  { method: 'POST', path: '/v1/events', pattern: /^\/v1\/events$/ },
  { method: 'GET', path: '/v1/clusters/{cluster}', pattern: /^\/v1\/clusters\/[^/]+$/ },
  { method: 'GET', path: '/v1/clusters', pattern: /^\/v1\/clusters$/ },
  { method: 'GET', path: '/status', pattern: /^\/status$/ },
  { method: 'GET', path: '/status/{cluster}', pattern: /^\/status\/[^/]+$/ },
] as const;

/** The answer to a request no route took: 405 when the path is the API's but the method is not, else 404. */
export interface RouteMiss {
  status: 404 | 405;
  code: typeof ErrorCode.NotFound | typeof ErrorCode.MethodNotAllowed;
  message: string;
  /** For 405: the methods the path takes (the `allow` header). */
  allow?: string;
}

/** Printable and bounded, so a hostile path or method never travels back verbatim into an answer or a log. */
function shown(text: string, max = 80): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return JSON.stringify(clean.length > max ? `${clean.slice(0, max)}...` : clean);
}

/**
 * What to answer a request that matched no route (API Gateway's `$default` route, the local API host's fallback).
 * Pure: the method and the raw path in, the contract's `{code, message}` out.
 */
export function routeMiss(method: string, path: string): RouteMiss {
  const allowed = API_ROUTES.filter((route) => route.pattern.test(path)).map((route) => route.method);
  if (allowed.length > 0 && !allowed.includes(method.toUpperCase() as (typeof allowed)[number])) {
    const allow = allowed.join(', ');
    return { status: 405, code: ErrorCode.MethodNotAllowed, message: `method ${shown(method, 16)} is not allowed on ${shown(path)}; allowed: ${allow}`, allow };
  }
  const known = API_ROUTES.map((route) => `${route.method} ${route.path}`).join(', ');
  return { status: 404, code: ErrorCode.NotFound, message: `no route for ${shown(method, 16)} ${shown(path)}; the API has ${known}` };
}
