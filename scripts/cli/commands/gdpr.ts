// `annals gdpr erase|certificate|verify|export <subject>` — the GDPR workflow of the running command API
// (write-side/gdpr): the erasure runs where the projectors, the bus and the key store are, so this command
// is a client of /api/v1/subjects/{id}/…, like `annals import`. dpo or admin token.
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

const REASONS = ['subject_request', 'consent_withdrawn', 'objection', 'unlawful_processing', 'legal_obligation', 'retention_policy'] as const;

const USAGE = `usage: annals gdpr <erase|certificate|verify|export> <subject-id> [options]
  erase <subject> [--reason R]    erase a contact or lead (and the lead/contact it was converted from/into):
                                  destroys its data key, redacts every read model, scans every store and
                                  prints the certificate. Idempotent: again prints the first certificate;
                                  after a failure (exit 1) running it again continues where it stopped.
                                  R: ${REASONS.join(', ')} (default subject_request)
  certificate <subject>           print the stored erasure certificate
  verify <subject>                scan every store again for the values the certificate searched;
                                  exit 1 if anything is found
  export <subject> [--out file]   everything about the subject as one JSON document (stdout by default)
  --api <url>                     the command API (default $ANNALS_API or http://127.0.0.1:$PORT, PORT 8080)
  --token <jwt>                   a dpo or admin token (default $ANNALS_TOKEN; see \`annals token\`)
exit status: 0 done (verify: clean), 1 refused, failed or (verify) personal data found, 2 usage`;

export async function run(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: { reason: { type: 'string' }, out: { type: 'string' }, api: { type: 'string' }, token: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (e) {
    return usage((e as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const [sub, subject, ...rest] = positionals;
  if (!sub || !['erase', 'certificate', 'verify', 'export'].includes(sub)) return usage(sub ? `unknown subcommand "${sub}"` : 'a subcommand is required');
  if (!subject || rest.length) return usage(subject ? `unexpected arguments: ${rest.join(' ')}` : 'the subject id is missing');
  if (values.reason !== undefined && (sub !== 'erase' || !(REASONS as readonly string[]).includes(values.reason))) {
    return usage(sub !== 'erase' ? '--reason is for erase only' : `--reason must be one of ${REASONS.join(', ')}`);
  }
  if (values.out !== undefined && sub !== 'export') return usage('--out is for export only');
  const token = values.token ?? process.env.ANNALS_TOKEN;
  if (!token) return usage('no token: pass --token or set ANNALS_TOKEN, e.g. ANNALS_TOKEN=$(npx annals token --tenant acme --sub me --roles dpo)');
  const api = (values.api ?? process.env.ANNALS_API ?? `http://127.0.0.1:${process.env.PORT || 8080}`).replace(/\/+$/, '');
  const base = `${api}/api/v1/subjects/${encodeURIComponent(subject)}`;
  const call = {
    erase: { method: 'POST', url: `${base}/erase`, body: JSON.stringify(values.reason ? { reason: values.reason } : {}) },
    certificate: { method: 'GET', url: `${base}/erasure`, body: undefined },
    verify: { method: 'POST', url: `${base}/erasure/verify`, body: undefined },
    export: { method: 'GET', url: `${base}/export`, body: undefined },
  }[sub as 'erase' | 'certificate' | 'verify' | 'export'];

  let status: number;
  let text: string;
  try {
    const res = await fetch(call.url, {
      method: call.method,
      headers: { authorization: `Bearer ${token}`, ...(call.body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(call.body !== undefined ? { body: call.body } : {}),
      // An erasure waits for the projectors and scans every store: give it time.
      signal: AbortSignal.timeout(10 * 60_000),
    });
    status = res.status;
    text = await res.text();
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code;
    process.stderr.write(`annals gdpr: cannot reach ${api}: ${cause === 'ECONNREFUSED' ? 'connection refused (is `npm start` running? see --api)' : (e as Error).message}\n`);
    return 1;
  }
  let answer: Record<string, unknown>;
  try {
    answer = JSON.parse(text) as Record<string, unknown>;
  } catch {
    process.stderr.write(`annals gdpr: HTTP ${status}, not JSON: ${text.slice(0, 200)}\n`);
    return 1;
  }
  if (status !== 200) {
    process.stderr.write(`annals gdpr ${sub}: HTTP ${status} ${String(answer.code ?? '')}: ${String(answer.detail ?? text)}\n`);
    if (answer.stores || answer.projectors) process.stderr.write(`${JSON.stringify({ stores: answer.stores, projectors: answer.projectors }, null, 2)}\n`);
    return 1;
  }
  const pretty = `${JSON.stringify(answer, null, 2)}\n`;
  if (sub === 'export' && values.out) {
    await writeFile(values.out, pretty, { mode: 0o600 }); // personal data: readable by its owner only
    process.stderr.write(`export written to ${values.out}\n`);
    return 0;
  }
  process.stdout.write(pretty);
  if (sub === 'verify' && answer.clean !== true) {
    process.stderr.write('annals gdpr verify: personal data of the subject was found (see stores[].found, locations)\n');
    return 1;
  }
  return 0;
}

function usage(problem: string): number {
  process.stderr.write(`annals gdpr: ${problem}\n${USAGE}\n`);
  return 2;
}
