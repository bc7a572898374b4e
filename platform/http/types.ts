import type { Permission } from '../auth/permissions.js';
import type { Principal } from '../auth/verify.js';

// What the shared HTTP shell (platform/http) adds to every fastify app of the product.
declare module 'fastify' {
  interface FastifyRequest {
    /** X-Correlation-Id of the request, or a fresh one; echoed in the response, in every log line and stored in events. */
    correlationId: string;
    /** Set by the `authenticate` hook; null only on routes outside it. */
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /** What the caller's roles must grant; checked by `authenticate` before the body is even parsed. */
    permission?: Permission;
    /** Body media types the route takes, named in its 415 answer (default: application/json). */
    accepts?: readonly string[];
  }
}
