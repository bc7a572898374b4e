// `annals gdpr erase|certificate|verify|export <subject>`, `annals gdpr retention run` — the GDPR workflow of
// the running command API (write-side/gdpr): the erasure runs where the projectors, the bus and the key store
// are, so these are clients of /api/v1/…, like `annals import`. dpo or admin token.
// `annals gdpr rotate-master-key` is the exception: it re-wraps the data keys in the key store directly.
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { ConfigError, EX_CONFIG, parseEnv, SharedEnv } from '../../../platform/config/env.js';
import { PiiEnvShape } from '../../../platform/pii/config.js';
import { rotateMasterKey } from '../../../platform/pii/key-store.js';
import { parseMasterKey, PiiMasterKeyText, type MasterKey } from '../../../platform/pii/master-key.js';
import { openKeyStoreSql } from '../../../platform/pii/open.js';

const REASONS = ['subject_request', 'consent_withdrawn', 'objection', 'unlawful_processing', 'legal_obligation', 'retention_policy'] as const;

const USAGE = `usage: annals gdpr <erase|certificate|verify|export> <subject-id> [options]
       annals gdpr retention run [--dry-run] [--api URL] [--token JWT]
       annals gdpr rotate-master-key --new-key-env VAR
  erase <subject> [--reason R]    erase a contact or lead (and the lead/contact it was converted from/into):
                                  destroys its data key, redacts every read model, scans every store and
                                  prints the certificate. Idempotent: again prints the first certificate;
                                  after a failure (exit 1) running it again continues where it stopped.
                                  R: ${REASONS.join(', ')} (default subject_request)
  certificate <subject>           print the stored erasure certificate
  verify <subject>                scan every store again for the values the certificate searched;
                                  exit 1 if anything is found
  export <subject> [--out file]   everything about the subject as one JSON document (stdout by default)
  retention run [--dry-run]       the retention policies of the token's tenant, now: lists every subject due
                                  and why; without --dry-run erases each (same workflow, reason
                                  retention_policy, you as the actor); exit 1 if any erasure failed
  rotate-master-key --new-key-env VAR
                                  re-wraps every data key wrapped by PII_MASTER_KEY (embedded: the development
                                  key in DATA_DIR/secrets) or PII_PREVIOUS_MASTER_KEYS under the key in the
                                  environment variable VAR (never on the command line). Online: first run the
                                  services with the new key as PII_MASTER_KEY and the old one in
                                  PII_PREVIOUS_MASTER_KEYS, then run this with --new-key-env PII_MASTER_KEY; or
                                  stop them. Key store: KEYSTORE_URL, else READ_DB_URL, else the embedded
                                  DATA_DIR/read database (stop \`npm start\` first: PGlite admits one process).
                                  Resumable: run it again after an interruption.
  --api <url>                     the command API (default $ANNALS_API or http://127.0.0.1:$PORT, PORT 8080)
  --token <jwt>                   a dpo or admin token (default $ANNALS_TOKEN; see \`annals token\`)
exit status: 0 done (verify: clean), 1 refused, failed or (verify) personal data found, 2 usage,
             78 configuration (a malformed key or URL in the environment)`;

/** Where a command writes (tests pass their own: patching process.stdout would swallow the test runner's reports). */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}
const stdio: CliIo = { out: (t) => void process.stdout.write(t), err: (t) => void process.stderr.write(t) };

const NEW_KEY_ENV_RULE = '--new-key-env takes the NAME of an environment variable (letters, digits, _), not a key: never put a key on the command line';

export async function run(args: string[], io: CliIo = stdio): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        reason: { type: 'string' },
        out: { type: 'string' },
        api: { type: 'string' },
        token: { type: 'string' },
        'dry-run': { type: 'boolean' },
        'new-key-env': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    // A base64url key may start with '-', which parseArgs reads as a missing value: name the rule, not the parser's.
    if (/'--new-key-env' argument is ambiguous/.test((e as Error).message)) return usage(io, NEW_KEY_ENV_RULE);
    return usage(io, (e as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.out(`${USAGE}\n`);
    return 0;
  }
  const [sub, subject, ...rest] = positionals;
  if (sub === 'rotate-master-key') {
    if (positionals.length > 1) return usage(io, `unexpected arguments: ${positionals.slice(1).join(' ')}`);
    const stray = (['reason', 'out', 'api', 'token', 'dry-run'] as const).find((o) => values[o] !== undefined);
    if (stray) return usage(io, `--${stray} is not an option of rotate-master-key`);
    if (!values['new-key-env']) return usage(io, 'rotate-master-key needs --new-key-env VAR (the new key is read from that environment variable, never from the command line)');
    return rotateKey(io, values['new-key-env']);
  }
  if (values['new-key-env'] !== undefined) return usage(io, '--new-key-env is for rotate-master-key only');
  if (sub === 'retention') {
    if (subject !== 'run' || rest.length) return usage(io, subject === undefined ? 'retention needs "run"' : `unknown retention subcommand "${[subject, ...rest].join(' ')}"`);
    const stray = (['reason', 'out'] as const).find((o) => values[o] !== undefined);
    if (stray) return usage(io, `--${stray} is not an option of retention run`);
  } else if (values['dry-run'] !== undefined) return usage(io, '--dry-run is for retention run only');
  if (!sub || !['erase', 'certificate', 'verify', 'export', 'retention'].includes(sub)) return usage(io, sub ? `unknown subcommand "${sub}"` : 'a subcommand is required');
  if (!subject || rest.length) return usage(io, subject ? `unexpected arguments: ${rest.join(' ')}` : 'the subject id is missing');
  if (values.reason !== undefined && (sub !== 'erase' || !(REASONS as readonly string[]).includes(values.reason))) {
    return usage(io, sub !== 'erase' ? '--reason is for erase only' : `--reason must be one of ${REASONS.join(', ')}`);
  }
  if (values.out !== undefined && sub !== 'export') return usage(io, '--out is for export only');
  const token = values.token ?? process.env.ANNALS_TOKEN;
  if (!token) return usage(io, 'no token: pass --token or set ANNALS_TOKEN, e.g. ANNALS_TOKEN=$(npx annals token --tenant acme --sub me --roles dpo)');
  const api = (values.api ?? process.env.ANNALS_API ?? `http://127.0.0.1:${process.env.PORT || 8080}`).replace(/\/+$/, '');
  const base = `${api}/api/v1/subjects/${encodeURIComponent(subject)}`;
  const call = {
    erase: { method: 'POST', url: `${base}/erase`, body: JSON.stringify(values.reason ? { reason: values.reason } : {}) },
    certificate: { method: 'GET', url: `${base}/erasure`, body: undefined },
    verify: { method: 'POST', url: `${base}/erasure/verify`, body: undefined },
    export: { method: 'GET', url: `${base}/export`, body: undefined },
    retention: { method: 'POST', url: `${api}/api/v1/gdpr/retention/run?dryRun=${values['dry-run'] ? 'true' : 'false'}`, body: undefined },
  }[sub as 'erase' | 'certificate' | 'verify' | 'export' | 'retention'];

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
    io.err(`annals gdpr: cannot reach ${api}: ${cause === 'ECONNREFUSED' ? 'connection refused (is `npm start` running? see --api)' : (e as Error).message}\n`);
    return 1;
  }
  let answer: Record<string, unknown>;
  try {
    answer = JSON.parse(text) as Record<string, unknown>;
  } catch {
    io.err(`annals gdpr: HTTP ${status}, not JSON: ${text.slice(0, 200)}\n`);
    return 1;
  }
  if (status !== 200) {
    io.err(`annals gdpr ${sub}: HTTP ${status} ${String(answer.code ?? '')}: ${String(answer.detail ?? text)}\n`);
    if (answer.stores || answer.projectors) io.err(`${JSON.stringify({ stores: answer.stores, projectors: answer.projectors }, null, 2)}\n`);
    return 1;
  }
  if (sub === 'retention') return printRetention(io, answer as unknown as RetentionRun);
  const pretty = `${JSON.stringify(answer, null, 2)}\n`;
  if (sub === 'export' && values.out) {
    await writeFile(values.out, pretty, { mode: 0o600 }); // personal data: readable by its owner only
    io.err(`export written to ${values.out}\n`);
    return 0;
  }
  io.out(pretty);
  if (sub === 'verify' && answer.clean !== true) {
    io.err('annals gdpr verify: personal data of the subject was found (see stores[].found, locations)\n');
    return 1;
  }
  return 0;
}

function usage(io: CliIo, problem: string): number {
  io.err(`annals gdpr: ${problem}\n${USAGE}\n`);
  return 2;
}

interface RetentionRun {
  dryRun: boolean;
  policy: { leadLostMonths: number; contactInactiveMonths: number };
  due: Array<{ subjectId: string; rule: string; why: string }>;
  certified: Array<{ subjectId: string; completedAt: string }>;
  failed: Array<{ subjectId: string; code: string }>;
}

/** One line per subject (id, rule, why, outcome), then the counts; exit 1 when an erasure failed. */
function printRetention(io: CliIo, run: RetentionRun): number {
  const certified = new Map(run.certified.map((c) => [c.subjectId, c]));
  const failed = new Map(run.failed.map((f) => [f.subjectId, f]));
  const lines = run.due.map((d) => {
    const outcome = run.dryRun ? 'would be erased' : certified.has(d.subjectId) ? `erased, certified ${certified.get(d.subjectId)!.completedAt}` : failed.has(d.subjectId) ? `FAILED ${failed.get(d.subjectId)!.code} (the next run retries)` : 'not run';
    return `${d.subjectId}  ${d.rule}  ${d.why}: ${outcome}`;
  });
  const policy = `policy: leads Lost > ${run.policy.leadLostMonths} months, contacts inactive ${run.policy.contactInactiveMonths} months`;
  const summary = run.dryRun
    ? `${run.due.length} subject(s) due; dry run, nothing erased`
    : `${run.due.length} due, ${run.certified.length} erased with certificate (annals gdpr certificate <id>), ${run.failed.length} failed`;
  io.out(`${[policy, ...lines, summary].join('\n')}\n`);
  return run.failed.length > 0 ? 1 : 0;
}

/** What rotate-master-key reads, through the one parser (platform/config): every bad variable is named. */
const RotateEnv = z.object({
  DATA_DIR: SharedEnv.DATA_DIR,
  READ_DB_URL: SharedEnv.READ_DB_URL,
  PII_MASTER_KEY: PiiEnvShape.PII_MASTER_KEY,
  PII_PREVIOUS_MASTER_KEYS: PiiEnvShape.PII_PREVIOUS_MASTER_KEYS,
  KEYSTORE_URL: PiiEnvShape.KEYSTORE_URL,
});

/**
 * The old keys are every key the services are configured with (PII_MASTER_KEY, else the embedded development
 * key, and PII_PREVIOUS_MASTER_KEYS) other than the new one. So both procedures work: the documented online
 * one (services already run with the new key as PII_MASTER_KEY and the old in PII_PREVIOUS_MASTER_KEYS, so
 * none of them ever meets a key it cannot unwrap: `--new-key-env PII_MASTER_KEY`), and the offline one
 * (services stopped, PII_MASTER_KEY still the old key, the new one in another variable).
 */
async function rotateKey(io: CliIo, variable: string): Promise<number> {
  // A 64-digit hex key also reads as a variable name: refuse anything that decodes as a key, without echoing it.
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(variable) || PiiMasterKeyText.safeParse(variable).success) {
    return usage(io, NEW_KEY_ENV_RULE);
  }
  let env: z.output<typeof RotateEnv>;
  try {
    env = parseEnv(RotateEnv, process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.err(`annals gdpr rotate-master-key: ${err.message}\n`);
    return EX_CONFIG;
  }
  const devKey = join(env.DATA_DIR, 'secrets', 'pii-master-key');
  let current = env.PII_MASTER_KEY;
  if (current === undefined && existsSync(devKey)) current = (await readFile(devKey, 'utf8')).trim();
  let oldKeys: MasterKey[];
  let newKey: MasterKey;
  try {
    newKey = parseMasterKey(process.env[variable], variable);
    const configured = [
      ...(current !== undefined ? [parseMasterKey(current, env.PII_MASTER_KEY === undefined ? devKey : 'PII_MASTER_KEY')] : []),
      ...env.PII_PREVIOUS_MASTER_KEYS.map((k, i) => parseMasterKey(k, `PII_PREVIOUS_MASTER_KEYS[${i}]`)),
    ];
    oldKeys = configured.filter((k, i) => k.id !== newKey.id && configured.findIndex((o) => o.id === k.id) === i);
  } catch (err) {
    const code = (err as { code?: string }).code;
    io.err(`annals gdpr rotate-master-key: ${code ? `${code}: ` : ''}${(err as Error).message}\n`);
    return EX_CONFIG;
  }
  if (oldKeys.length === 0) {
    return usage(io, `no old key to rotate from: PII_MASTER_KEY${current === undefined ? ` is not set (and there is no development key at ${devKey})` : ` is the key in ${variable}`} and PII_PREVIOUS_MASTER_KEYS holds no other`);
  }
  const url = env.KEYSTORE_URL ?? env.READ_DB_URL;
  const embeddedDir = join(env.DATA_DIR, 'read');
  if (!url && !existsSync(embeddedDir)) {
    io.err(`annals gdpr rotate-master-key: no key store: KEYSTORE_URL and READ_DB_URL are unset and there is no embedded database at ${embeddedDir}\n`);
    return 1;
  }
  let sql;
  try {
    sql = await openKeyStoreSql(url, embeddedDir, 'annals-rotate-master-key');
  } catch (err) {
    io.err(`annals gdpr rotate-master-key: cannot open the key store${url ? '' : ` at ${embeddedDir} (is \`npm start\` running? stop it first)`}: ${(err as Error).message}\n`);
    return 1;
  }
  try {
    let rewrapped = 0;
    let underOtherKeys = 0;
    for (const oldKey of oldKeys) {
      // Earlier old keys are fully rotated by then, so the last report's "other keys" are unknown ones.
      const report = await rotateMasterKey(sql, oldKey, newKey);
      rewrapped += report.rewrapped;
      underOtherKeys = report.underOtherKeys;
    }
    io.out(
      `re-wrapped ${rewrapped} data key(s) from master key ${oldKeys.map((k) => k.id).join(', ')} to ${newKey.id}; ${underOtherKeys} under other master keys\n` +
        (variable === 'PII_MASTER_KEY'
          ? 'next: drop the old key from PII_PREVIOUS_MASTER_KEYS and restart the services\n'
          : `next: run every service with PII_MASTER_KEY=<the key in ${variable}> (keep the old key in PII_PREVIOUS_MASTER_KEYS until all of them restarted)\n`),
    );
    if (underOtherKeys > 0) {
      io.err(`annals gdpr rotate-master-key: ${underOtherKeys} data key(s) are wrapped by a master key not configured here (an earlier rotation left unfinished?): add it to PII_PREVIOUS_MASTER_KEYS and run again\n`);
    }
    return 0;
  } catch (err) {
    const code = (err as { code?: string }).code;
    io.err(`annals gdpr rotate-master-key: ${code ? `${code}: ` : ''}${(err as Error).message}\n`);
    return 1;
  } finally {
    await sql.close();
  }
}
