/**
 * `tsx bench/profile-summary.ts <file.cpuprofile> [top=40]`: the functions with the most self time in a
 * V8 CPU profile (`node --cpu-prof`, e.g. BENCH_CPU_PROF=<dir> npm run bench:query), grouped by
 * function + file + line, with their share of the non-idle samples; then the same grouped by package
 * (node_modules/<name>) or by our own top-level directory, to see where a request's CPU goes.
 */
import { readFile } from 'node:fs/promises';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number; readonly columnNumber: number };
  readonly children?: readonly number[];
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const [file, topArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: tsx bench/profile-summary.ts <file.cpuprofile> [top]');
  process.exit(64);
}
const top = Number(topArg ?? 40);
const profile = JSON.parse(await readFile(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));

const IDLE = new Set(['(idle)', '(program)', '(garbage collector)']);
const where = (url: string) => {
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  if (url.startsWith('node:')) return 'node:internal';
  const own = /\/work\/[^/]+\/([^/]+)\//.exec(url) ?? /file:\/\/\/.*?\/(bench|platform|query-api|schemas|projections|write-side)\//.exec(url);
  return own ? own[1]! : url === '' ? '(native)' : 'other';
};

let total = 0;
let busy = 0;
const fns = new Map<string, number>();
const packages = new Map<string, number>();
for (const [id, us] of selfUs) {
  const n = byId.get(id)!;
  total += us;
  const name = n.callFrame.functionName || '(anonymous)';
  if (IDLE.has(name)) {
    fns.set(name, (fns.get(name) ?? 0) + us);
    continue;
  }
  busy += us;
  const short = n.callFrame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/\/work\/[^/]+\//, '');
  const key = `${name}  ${short}:${n.callFrame.lineNumber + 1}:${n.callFrame.columnNumber + 1}`;
  fns.set(key, (fns.get(key) ?? 0) + us);
  const pkg = where(n.callFrame.url);
  packages.set(pkg, (packages.get(pkg) ?? 0) + us);
}
const pct = (us: number) => `${((100 * us) / busy).toFixed(1).padStart(5)}%`;
const ms = (us: number) => `${(us / 1000).toFixed(0).padStart(7)} ms`;
console.log(`total ${ms(total)}, busy (not idle/program/gc) ${ms(busy)}; gc ${ms(fns.get('(garbage collector)') ?? 0)}, program ${ms(fns.get('(program)') ?? 0)}`);
console.log('\nself time by function (share of busy):');
for (const [k, us] of [...fns].filter(([k]) => !IDLE.has(k)).sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${ms(us)} ${pct(us)}  ${k}`);
console.log('\nself time by package / directory:');
for (const [k, us] of [...packages].sort((a, b) => b[1] - a[1])) console.log(`${ms(us)} ${pct(us)}  ${k}`);
