import type { FastifyInstance } from 'fastify';

/**
 * Which methods each route path answers, so that a known path asked with another method answers
 * 405 with `Allow` (RFC 9110 §15.5.6) rather than 404: the path exists, the method does not. Routes are
 * recorded as they are added (onRoute), so this must be installed before any route is registered.
 */
export interface MethodIndex {
  /** The methods the path answers, or undefined when no route has this path. */
  allowed(path: string): string[] | undefined;
}

export function indexRouteMethods(app: FastifyInstance): MethodIndex {
  const routes: { pattern: RegExp; methods: Set<string> }[] = [];
  const byUrl = new Map<string, Set<string>>();
  app.addHook('onRoute', (route) => {
    let methods = byUrl.get(route.url);
    if (!methods) {
      methods = new Set();
      byUrl.set(route.url, methods);
      routes.push({ pattern: toRegExp(route.url), methods });
    }
    for (const m of [route.method].flat()) methods.add(m.toUpperCase());
  });
  return {
    allowed(path) {
      const found = new Set<string>();
      for (const r of routes) if (r.pattern.test(path)) for (const m of r.methods) found.add(m);
      return found.size ? [...found].sort() : undefined;
    },
  };
}

/** `/leads/:id/qualify` → /^\/leads\/[^/]+\/qualify\/?$/; `*` matches the rest. */
function toRegExp(url: string): RegExp {
  const source = url
    .split('/')
    .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment === '*' ? '.*' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${source}$`);
}
