import { summarize, type Summary } from './stats.js';
import type { CaseResult, PendingRow, Row } from './types.js';

export interface Measured {
  readonly results: readonly (CaseResult | undefined)[];
  readonly errors: readonly string[];
}

export interface ReportInput {
  readonly mode: 'quick' | 'full';
  /** The --only filter of a partial run. */
  readonly only?: string | undefined;
  readonly rounds: number;
  readonly startedAt: Date;
  readonly durationMs: number;
  readonly rows: readonly Row[];
  readonly pending: readonly PendingRow[];
  readonly measuredOf: (spec: Row['ours']) => Measured;
  readonly environment: readonly (readonly [string, string])[];
  readonly settings: readonly (readonly [string, Record<string, string>])[];
}

const fmt = (v: number) => (v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toPrecision(3));
const range = (s: Summary) => `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})`;
const mb = (bytes: number) => `${Math.round(bytes / 1024 / 1024)}`;

/** The figure a row reads from one case result: `value`, or the detail it names. */
export function figureOf(result: CaseResult | undefined, metric: string | undefined): number | undefined {
  if (!result) return undefined;
  if (!metric || metric === 'value') return result.value;
  const v = result.detail?.[metric];
  return typeof v === 'number' ? v : undefined;
}

/** Ratios ours/baseline paired round by round: both ran back to back, so drift on the machine cancels. */
export function pairedRatios(ours: Measured, base: Measured, metric: Row['metric'] = {}): number[] {
  const out: number[] = [];
  for (let i = 0; i < Math.min(ours.results.length, base.results.length); i++) {
    const a = figureOf(ours.results[i], metric.ours);
    const b = figureOf(base.results[i], metric.baseline);
    if (a !== undefined && b !== undefined && b > 0) out.push(a / b);
  }
  return out;
}

const figures = (m: Measured, metric: string | undefined) => m.results.flatMap((x) => (figureOf(x, metric) ?? []));

export function renderReport(r: ReportInput): string {
  const lines: string[] = [];
  const failures: string[] = [];
  lines.push('# Annals benchmarks');
  lines.push('');
  lines.push(
    `${r.only !== undefined ? 'Partial run' : r.mode === 'quick' ? 'Quick (smoke) run' : 'Full run'} of ` +
      `\`npm run bench${r.mode === 'quick' || r.only !== undefined ? ' --' : ''}${r.mode === 'quick' ? ' --quick' : ''}${r.only !== undefined ? ` --only ${r.only}` : ''}\`, ` +
      `${r.startedAt.toISOString()}, ${r.rounds} rounds, ${Math.round(r.durationMs / 1000)} s. ` +
      'Each figure: median over rounds (min–max); ratio: median of the per-round ratios ours / baseline (min–max); ' +
      'peak RSS: median peak RSS of the service under test (the case process, or the processes it started), MB. ' +
        'See bench/README.md for the method.',
  );
  lines.push('');
  lines.push('| Row | Unit | Ours | Baseline | Ours / baseline | Target | Peak RSS ours / baseline (MB) |');
  lines.push('|---|---|---|---|---|---|---|');
  for (const row of r.rows) {
    const ours = r.measuredOf(row.ours);
    const base = row.baseline ? r.measuredOf(row.baseline) : undefined;
    const so = summarize(figures(ours, row.metric?.ours));
    const sb = base ? summarize(figures(base, row.metric?.baseline)) : undefined;
    const ratio = base ? summarize(pairedRatios(ours, base, row.metric)) : undefined;
    const rssO = summarize(ours.results.flatMap((x) => (x ? [x.maxRssBytes] : [])));
    const rssB = base && JSON.stringify(row.baseline) !== JSON.stringify(row.ours) ? summarize(base.results.flatMap((x) => (x ? [x.maxRssBytes] : []))) : undefined;
    const errors = [...new Set([...ours.errors, ...(base?.errors ?? [])])];
    let target = '';
    if (row.target) {
      // A ratio target is judged on the median paired ratio, an absolute one on our median.
      const judged = 'ratio' in row.target ? ratio?.median : so?.median;
      const bound = 'ratio' in row.target ? row.target.ratio : row.target.value;
      const met = judged !== undefined && (row.higherIsBetter ? judged >= bound : judged <= bound);
      target = `${row.target.label}: ${judged === undefined ? 'n/a' : met ? '**met**' : '**missed**'}`;
    }
    const baseline = row.baseline ? `${row.baselineLabel ?? row.baseline.system}: ${sb ? range(sb) : 'failed'}` : '—';
    lines.push(
      `| ${row.title} | ${row.unit} ${row.higherIsBetter ? '↑' : '↓'} | ${so ? range(so) : 'failed'} | ${baseline} | ` +
        `${ratio ? `${ratio.median.toFixed(2)}× (${ratio.min.toFixed(2)}–${ratio.max.toFixed(2)})` : '—'} | ${target} | ` +
        `${rssO ? mb(rssO.median) : '—'} / ${rssB ? mb(rssB.median) : '—'} |`,
    );
    for (const e of errors) failures.push(`- ${row.id}: ${e}`);
  }
  for (const p of r.pending) lines.push(`| ${p.title} | | ${p.status} | | | | |`);
  lines.push('');
  if (failures.length) {
    lines.push('## Failures');
    lines.push('');
    lines.push(...new Set(failures));
    lines.push('');
  }
  lines.push('## Machine and versions');
  lines.push('');
  for (const [k, v] of r.environment) lines.push(`- ${k}: ${v}`);
  lines.push('');
  lines.push('## Database settings (as the case processes saw them)');
  lines.push('');
  for (const [name, s] of r.settings) lines.push(`- ${name}: ${Object.entries(s).map(([k, v]) => `${k}=${v}`).join(', ')}`);
  lines.push('');
  return lines.join('\n');
}
