// `annals import contacts <file.csv>` — streams a CSV file to the running command API
// (POST /api/v1/contacts/import) and prints what became of every row. The file is piped, never read
// into memory, so its size is bounded only by the API's limits.
import { createReadStream } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';

const USAGE = `usage: annals import contacts <file.csv> [options]
  --on-duplicate skip|update|merge   a row matching a contact (by email, else name + company):
                                     skip it (default), update the contact with the row's non-empty
                                     cells, or merge (fill only what the contact lacks, add tags)
  --map "<header>:<field>,…"         map columns, e.g. --map "E-mail:email,Given name:firstName"
                                     (fields: firstName lastName email phone company title tags custom.<key>;
                                     headers named like a field map by themselves)
  --idempotency-key <key>            makes a retry of this import safe: it creates and changes nothing twice
  --report <file.json>               write the full per-row report there (- for stdout)
  --api <url>                        the command API (default $ANNALS_API or http://127.0.0.1:$PORT, PORT 8080)
  --token <jwt>                      a token with contact:write (default $ANNALS_TOKEN; see \`annals token\`)
exit status: 0 every row imported, 1 some rows rejected or the import failed, 2 usage`;

interface RowReport {
  row: number;
  line: number;
  status: string;
  id?: string;
  existingId?: string;
  matchedBy?: string;
  reason?: string;
  detail?: string;
  errors?: { field: string; column?: string; rule: string }[];
}
interface Report {
  summary: Record<string, number>;
  columns: { mapped: Record<string, string>; ignored: string[] };
  rows: RowReport[];
}

export async function run(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        'on-duplicate': { type: 'string', default: 'skip' },
        map: { type: 'string', multiple: true },
        'idempotency-key': { type: 'string' },
        report: { type: 'string' },
        api: { type: 'string' },
        token: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    return usage((e as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const [what, file, ...rest] = positionals;
  if (what !== 'contacts') return usage(what === undefined ? 'what to import? (contacts)' : `cannot import "${what}"; only contacts`);
  if (file === undefined || rest.length) return usage(file === undefined ? 'the CSV file is missing' : `unexpected arguments: ${rest.join(' ')}`);
  const onDuplicate = values['on-duplicate'];
  if (!['skip', 'update', 'merge'].includes(onDuplicate)) return usage(`--on-duplicate must be skip, update or merge, not "${onDuplicate}"`);
  const token = values.token ?? process.env.ANNALS_TOKEN;
  if (!token) return usage('no token: pass --token or set ANNALS_TOKEN, e.g. ANNALS_TOKEN=$(npx annals token --tenant acme --sub me --roles sales)');

  let size: number;
  try {
    const s = await stat(file);
    if (!s.isFile()) return usage(`${file} is not a file`);
    size = s.size;
  } catch (e) {
    return usage(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }

  const api = (values.api ?? process.env.ANNALS_API ?? `http://127.0.0.1:${process.env.PORT || 8080}`).replace(/\/+$/, '');
  let url: URL;
  try {
    url = new URL(`${api}/api/v1/contacts/import`);
  } catch {
    return usage(`--api ${api} is not a URL`);
  }
  url.searchParams.set('onDuplicate', onDuplicate);
  for (const m of values.map ?? []) url.searchParams.append('map', m);

  const headers: Record<string, string> = { 'content-type': 'text/csv', 'content-length': String(size), authorization: `Bearer ${token}` };
  if (values['idempotency-key']) headers['idempotency-key'] = values['idempotency-key'];

  let status: number;
  let body: string;
  try {
    ({ status, body } = await upload(url, headers, file));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ECONNREFUSED' ? 'connection refused (is `npm start` running? see --api)' : ((e as Error).message ?? String(e));
    process.stderr.write(`annals import: cannot reach ${api}: ${why}\n`);
    return 1;
  }

  let answer: Record<string, unknown>;
  try {
    answer = JSON.parse(body) as Record<string, unknown>;
  } catch {
    process.stderr.write(`annals import: HTTP ${status} from ${api}, not JSON: ${body.slice(0, 200)}\n`);
    return 1;
  }
  if (status !== 200) {
    process.stderr.write(`annals import: HTTP ${status} ${String(answer.code ?? '')}: ${String(answer.detail ?? body)}\n`);
    for (const e of (answer.errors as { path: string; rule: string }[] | undefined) ?? []) process.stderr.write(`  ${e.path}: ${e.rule}\n`);
    const partial = answer.report as Report | undefined;
    if (partial) await printReport(partial, values.report);
    return 1;
  }
  const report = answer as unknown as Report;
  await printReport(report, values.report);
  return report.summary.rejected ? 1 : 0;
}

function usage(problem: string): number {
  process.stderr.write(`annals import: ${problem}\n${USAGE}\n`);
  return 2;
}

/** POSTs the file as a stream (node:http, so the body is piped with backpressure and a Content-Length). */
function upload(url: URL, headers: Record<string, string>, file: string): Promise<{ status: number; body: string }> {
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request(url, { method: 'POST', headers }, (res: IncomingMessage) => {
      answered = true;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    // The API may answer (and close) before the whole file is sent, e.g. 400 for a bad header: the
    // answer is what matters then, not the broken upload.
    const failed = (e: unknown) => {
      if (!answered) reject(e);
    };
    req.on('error', failed);
    pipeline(createReadStream(file), req).catch(failed);
  });
}

async function printReport(report: Report, reportFile: string | undefined): Promise<void> {
  const s = report.summary;
  process.stdout.write(`created ${s.created}, updated ${s.updated}, merged ${s.merged}, skipped ${s.skipped}, rejected ${s.rejected}\n`);
  if (report.columns.ignored.length) process.stdout.write(`ignored columns: ${report.columns.ignored.join(', ')}\n`);
  if (reportFile === '-') {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  if (reportFile) {
    await writeFile(reportFile, `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(`per-row report: ${reportFile}\n`);
    return;
  }
  // Without --report: one line per row that did not simply become a new contact.
  for (const r of report.rows.filter((x) => x.status !== 'created')) {
    const where = `row ${r.row} (line ${r.line})`;
    if (r.status === 'rejected') {
      const fields = (r.errors ?? []).map((e) => `${e.column ?? e.field}: ${e.rule}`).join('; ');
      process.stdout.write(`${where}: rejected ${r.reason ?? ''}${fields ? ` — ${fields}` : r.detail ? ` — ${r.detail}` : ''}\n`);
    } else {
      process.stdout.write(`${where}: ${r.status} ${r.existingId ?? ''} (matched by ${r.matchedBy ?? '?'})\n`);
    }
  }
}
