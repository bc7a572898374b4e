import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { envelopeOf, type WriteDeps } from '../http/context.js';
import { HttpError, Problem } from '../http/problem.js';
import { CommandHeaders } from '../http/schemas.js';
import { IMPORT_FIELDS, IMPORT_MAX_BYTES, IMPORT_MAX_ROWS, ImportErrorCode, openCsv, parseColumnMap } from './import-csv.js';
import { claimDepsOf } from './email-claims.js';
import { ImportReport, emptyReport, importContacts } from './import.js';

/** Errors that stop an import in the middle: their problem carries the report of the rows done. */
const STOPS = new Set<string>([ImportErrorCode.MalformedCsv, ImportErrorCode.TooLarge, ImportErrorCode.TooManyRows]);

const MapParam = z.union([z.string(), z.array(z.string())]).superRefine((value, ctx) => {
  for (const problem of parseColumnMap(typeof value === 'string' ? [value] : value).problems) ctx.addIssue({ code: 'custom', message: problem });
});

const ImportQuery = z.strictObject({
  onDuplicate: z
    .enum(['skip', 'update', 'merge'], { error: 'onDuplicate must be skip, update or merge' })
    .default('skip')
    .describe('What a row matching an existing contact (by email, else by name + company) does: skip it, update the contact with the row\'s non-empty cells, or merge (fill only the fields the contact lacks, add tags).'),
  map: MapParam.optional().describe(
    `Column mapping, \`<CSV header>:<field>\` pairs, comma-separated or repeated: \`map=E-mail:email,Given name:firstName\`. Fields: ${IMPORT_FIELDS.join(', ')}, custom.<key>. Unmapped headers named like a field (case, spaces, _ and - ignored) map to it; others are ignored.`,
  ),
});

/**
 * `POST /api/v1/contacts/import` (SPEC: contact CSV import). The body is `text/csv`, handed to the
 * route as the raw request stream (this plugin's content-type parser, encapsulated here) and parsed
 * row by row, so a large file is never held in memory. A child plugin of the contact routes: the parser
 * applies to no other route.
 */
export async function contactImportRoutes(app: FastifyInstance, deps: WriteDeps): Promise<void> {
  app.addContentTypeParser('text/csv', (_request, payload, done) => done(null, payload));
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post(
    '/contacts/import',
    {
      schema: {
        tags: ['contacts'],
        summary: 'Import contacts from a CSV file (Content-Type: text/csv)',
        description:
          'Streams the file. A header line names the columns; each data row becomes a contact, or, when it matches an existing one (by email, else by name + company, ' +
          'including rows earlier in the file), is skipped, updated or merged as `onDuplicate` says. Every row is all-or-nothing; the answer reports every row. ' +
          `Limits: ${IMPORT_MAX_ROWS} data rows and ${IMPORT_MAX_BYTES} bytes (413 with the report of the rows done). With an Idempotency-Key a retried import creates and changes nothing twice.`,
        headers: CommandHeaders,
        querystring: ImportQuery,
        response: { 200: ImportReport, 400: Problem, 401: Problem, 403: Problem, 413: Problem, 415: Problem, 422: Problem, 429: Problem },
      },
      config: { command: 'ImportContacts', permission: 'contact:write', accepts: ['text/csv'] },
    },
    async (request) => {
      if (!(request.body instanceof Readable)) {
        throw new HttpError(415, 'HTTP_ERR_UNSUPPORTED_MEDIA_TYPE', 'send the file as the body with Content-Type: text/csv');
      }
      const length = Number(request.headers['content-length']);
      if (length > IMPORT_MAX_BYTES) {
        throw new HttpError(413, ImportErrorCode.TooLarge, `the file is larger than ${IMPORT_MAX_BYTES} bytes; split it`, {
          maxBytes: IMPORT_MAX_BYTES,
          report: emptyReport({ mapped: {}, ignored: [] }),
        });
      }
      const { map: mapParam, onDuplicate } = request.query;
      const { map } = parseColumnMap(mapParam === undefined ? [] : typeof mapParam === 'string' ? [mapParam] : mapParam);
      const csv = await openCsv(request.body, { map }).catch((e: unknown) => {
        // Stopped before the first row (the parser failed while still reading ahead): nothing was imported.
        if (e instanceof HttpError && STOPS.has(e.code)) throw new HttpError(e.statusCode, e.code, e.message, { ...e.details, report: emptyReport({ mapped: {}, ignored: [] }) });
        throw e;
      });
      const report = await importContacts(
        { ...claimDepsOf(deps), clock: deps.clock, ids: deps.ids },
        { envelope: envelopeOf(request, { ignoreIfMatch: true }), onDuplicate, headerOf: csv.headerOf },
        csv.columns,
        csv.rows,
      );
      // Counts only: rows carry personal data, the summary does not.
      request.log.info({ summary: report.summary }, 'contact import finished');
      return report;
    },
  );
}
