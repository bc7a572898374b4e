import { summarize, type Summary } from './stats.js';
import type { CaseResult, PendingRow, Row } from './types.js';

export interface Measured {
  readonly results: readonly (CaseResult | undefined)[];
  readonly errors: readonly string[];
}

export interface ReportInput {
  readonly mode: 'quick' | 'full';
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

/** Ratios ours/baseline paired round by round: both ran back to back, so drift on the machine cancels. */
export function pairedRatios(ours: Measured, base: Measured): number[] {
  const out: number[] = [];
  for (let i = 0; i < Math.min(ours.results.length, base.results.length); i++) {
    const a = ours.results[i];
    const b = base.results[i];
    if (a && b && b.value > 0) out.push(a.value / b.value);
  }
  return out;
}

export function renderReport(r: ReportInput): string {
  const lines: string[] = [];
  const failures: string[] = [];
  lines.push('# Annals benchmarks');
  lines.push('');
  lines.push(
    `${r.mode === 'quick' ? 'Quick (smoke) run' : 'Full run'} of \`npm run bench${r.mode === 'quick' ? ' -- --quick' : ''}\`, ` +
      `${r.startedAt.toISOString()}, ${r.rounds} rounds, ${Math.round(r.durationMs / 1000)} s. ` +
      'Each figure: median over rounds (min–max); ratio: median of the per-round ratios ours / baseline (min–max); ' +
      'peak RSS: median maxRSS of the case processes, MB. See bench/README.md for the method.',
  );
  lines.push('');
  lines.push('| Row | Unit | Ours | Baseline | Ours / baseline | Target | Peak RSS ours / baseline (MB) |');
  lines.push('|---|---|---|---|---|---|---|');
  for (const row of r.rows) {
    const ours = r.measuredOf(row.ours);
    const base = r.measuredOf(row.baseline);
    const so = summarize(ours.results.flatMap((x) => (x ? [x.value] : [])));
    const sb = summarize(base.results.flatMap((x) => (x ? [x.value] : [])));
    const ratio = summarize(pairedRatios(ours, base));
    const rssO = summarize(ours.results.flatMap((x) => (x ? [x.maxRssBytes] : [])));
    const rssB = summarize(base.results.flatMap((x) => (x ? [x.maxRssBytes] : [])));
    const errors = [...new Set([...ours.errors, ...base.errors])];
    let target = '';
    if (row.target) {
      const met = ratio ? (row.higherIsBetter ? ratio.median >= row.target.ratio : ratio.median <= row.target.ratio) : false;
      target = `${row.target.label}: ${ratio ? (met ? '**met**' : '**missed**') : 'n/a'}`;
    }
    lines.push(
      `| ${row.title} | ${row.unit} ${row.higherIsBetter ? '↑' : '↓'} | ${so ? range(so) : 'failed'} | ${row.baselineLabel}: ${sb ? range(sb) : 'failed'} | ` +
        `${ratio ? `${ratio.median.toFixed(2)}× (${ratio.min.toFixed(2)}–${ratio.max.toFixed(2)})` : '—'} | ${target} | ` +
        `${rssO ? mb(rssO.median) : '—'} / ${rssB ? mb(rssB.median) : '—'} |`,
    );
    for (const e of errors) failures.push(`- ${row.id}: ${e}`);
  }
  for (const p of r.pending) lines.push(`| ${p.title} | | not yet measured (waiting for ${p.waitingFor}) | | | | |`);
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
