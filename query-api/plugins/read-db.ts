import type { FastifyInstance } from 'fastify';
import type { SqlClient } from '../../platform/sql/client.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The read database (PostgreSQL read models), on the query API's scope. */
    readDb: SqlClient;
  }
}

/**
 * The read database's client on a scope (GUIDE: one plugin per store client). `owned`: this app opened the
 * client and closes it when the app closes; inside `npm start` the composition root owns it.
 * A plain function on purpose (not fastify-plugin): the decorator stays inside the query API's scope.
 */
export function registerReadDb(scope: FastifyInstance, client: SqlClient, options: { owned: boolean }): void {
  scope.decorate('readDb', client);
  if (options.owned) scope.addHook('onClose', async () => client.close());
}
