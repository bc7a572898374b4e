/**
 * The benchmark runner: `npm run bench` (full) or `npm run bench -- --quick` (the CI smoke run).
 * Options: --rounds N (default 3), --only <text> (rows whose id contains it), --out <file>.
 *
 * Method (bench/README.md): every case runs in a fresh process (bench/case-runner.ts) after its own
 * warm-up; within a round the systems compared by a row run back to back, their order rotating from
 * round to round (A B, B A, ...); figures are medians over rounds with min–max.
 */
import { execFileSync, fork } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { renderReport, type Measured } from './lib/report.js';
import { ensureDatabases, resolveServerUrl } from './lib/setup.js';
import type { CaseResult, CaseSpec, Row } from './lib/types.js';
import { allRows, pendingRows } from './rows/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const CASE_TIMEOUT_MS = 10 * 60_000;

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '3' },
    only: { type: 'string' },
    out: { type: 'string', default: join(here, 'results', 'latest.md') },
  },
});
const quick = args.quick ?? false;
const rounds = Math.max(1, Number(args.rounds));
const rows = allRows({ quick }).filter((r) => !args.only || r.id.includes(args.only));
if (rows.length === 0) throw new Error(`no row matches --only ${args.only}`);

ensureEmmettInstalled(rows);
const serverUrl = resolveServerUrl();
await ensureDatabases(serverUrl);

type Result = CaseResult & { settings?: Record<string, string> };
const keyOf = (s: CaseSpec) => JSON.stringify([s.workload, s.system, s.params]);
const measured = new Map<string, { spec: CaseSpec; results: (Result | undefined)[]; errors: string[] }>();

// Rows that share a case form a group (our case or a baseline: the codec-on append rows share the codec-off
// rows' baselines): each case of a group runs once per round, interleaved with the others, and serves every
// row that names it, so each row's ratio pairs cases of the same round.
let groups: { specs: CaseSpec[]; rounds: number }[] = [];
for (const row of rows) {
  const specs = row.baseline ? [row.ours, row.baseline] : [row.ours];
  const joined = groups.filter((group) => group.specs.some((s) => specs.some((t) => keyOf(s) === keyOf(t))));
  const g = { specs: joined.flatMap((group) => group.specs), rounds: Math.min(rounds, ...joined.map((group) => group.rounds)) };
  groups = [...groups.filter((group) => !joined.includes(group)), g];
  for (const s of specs) if (!g.specs.some((t) => keyOf(t) === keyOf(s))) g.specs.push(s);
  if (quick && row.quickRounds) g.rounds = Math.min(g.rounds, row.quickRounds);
  for (const s of specs) if (!measured.has(keyOf(s))) measured.set(keyOf(s), { spec: s, results: [], errors: [] });
}

const startedAt = new Date();
let failed = 0;
for (let round = 0; round < rounds; round++) {
  for (const { specs, rounds: groupRounds } of groups) {
    if (round >= groupRounds) continue;
    const order = specs.map((_, i) => specs[(i + round) % specs.length]!);
    for (const spec of order) {
      const m = measured.get(keyOf(spec))!;
      const t = Date.now();
      try {
        const result = await runCase(spec);
        // A case that ran but reported no figure (e.g. a script whose output changed shape) is a failure, not a blank row.
        if (!Number.isFinite(result.value)) throw new Error(`the case reported no figure (${String(result.value)})`);
        m.results[round] = result;
        log(`round ${round + 1}/${groupRounds} ${spec.workload} ${spec.system} ${JSON.stringify(spec.params)}: ${Math.round(result.value)} (${((Date.now() - t) / 1000).toFixed(1)} s)`);
      } catch (e) {
        failed++;
        m.results[round] = undefined;
        m.errors.push((e as Error).message.split('\n')[0] ?? String(e));
        log(`round ${round + 1}/${groupRounds} ${spec.workload} ${spec.system} FAILED: ${(e as Error).message}`);
      }
    }
  }
}

const settings = new Map<string, Record<string, string>>();
for (const m of measured.values()) {
  const s = m.results.find((r) => r?.settings)?.settings;
  if (s && !settings.has(s.engine ?? m.spec.system)) settings.set(s.engine ?? m.spec.system, s);
}
const report = renderReport({
  mode: quick ? 'quick' : 'full',
  only: args.only,
  rounds,
  startedAt,
  durationMs: Date.now() - startedAt.getTime(),
  rows,
  pending: args.only ? [] : pendingRows({ quick }),
  measuredOf: (spec): Measured => measured.get(keyOf(spec))!,
  environment: environment(),
  settings: [...settings.entries()],
});
await mkdir(dirname(args.out!), { recursive: true });
await writeFile(args.out!, report);
log(`wrote ${args.out}`);
process.stdout.write(report);
if (failed > 0) {
  log(`${failed} case(s) failed`);
  process.exitCode = 1;
}

function runCase(spec: CaseSpec): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = fork(join(here, 'case-runner.ts'), [JSON.stringify(spec)], {
      cwd: root,
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, ANNALS_BENCH_PG_URL: serverUrl },
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    });
    let result: Result | undefined;
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    child.on('message', (msg) => (result = msg as Result));
    const timer = setTimeout(() => child.kill('SIGKILL'), CASE_TIMEOUT_MS);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0 && result) resolve(result);
      else reject(new Error(`case exited with ${signal ?? code}: ${lastError(stderr)}`));
    });
  });
}

function lastError(stderr: string): string {
  const line = stderr.split('\n').find((l) => /Error|error:/.test(l));
  return (line ?? stderr.trim().split('\n').pop() ?? '').trim();
}

function log(msg: string) {
  process.stderr.write(`[bench] ${msg}\n`);
}

/** emmett lives in its own folder (bench/baselines/emmett/package.json says why); install it on first use. */
function ensureEmmettInstalled(selected: readonly Row[]) {
  if (!selected.some((r) => r.baseline?.system === 'emmett-pg')) return;
  const dir = join(here, 'baselines', 'emmett');
  if (existsSync(join(dir, 'node_modules', '@event-driven-io', 'emmett-postgresql', 'package.json'))) return;
  log('installing the emmett baseline (npm ci in bench/baselines/emmett)');
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: dir, stdio: 'inherit' });
}

function versionOf(dir: string, pkg: string): string {
  try {
    return (JSON.parse(readFileSync(join(dir, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

function environment(): [string, string][] {
  const cpus = os.cpus();
  const emmettDir = join(here, 'baselines', 'emmett');
  return [
    ['CPU', `${cpus.length} × ${cpus[0]?.model.trim() ?? '?'}`],
    ['Memory', `${Math.round(os.totalmem() / 1024 ** 3)} GiB`],
    ['OS', `${os.type()} ${os.release()} ${os.arch()}`],
    ['Node', process.version],
    ['pg (driver)', `${versionOf(root, 'pg')} (emmett's copy: ${versionOf(emmettDir, 'pg')})`],
    ['@electric-sql/pglite', versionOf(root, '@electric-sql/pglite')],
    ['zod', versionOf(root, 'zod')],
    ['tsx', versionOf(root, 'tsx')],
    ['@event-driven-io/emmett-postgresql', versionOf(emmettDir, '@event-driven-io/emmett-postgresql')],
    ['git commit', gitHead()],
  ];
}

function gitHead(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  } catch {
    return '?';
  }
}
