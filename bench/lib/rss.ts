import { readFileSync, readdirSync } from 'node:fs';

/**
 * Peak memory of a process tree, from /proc (Linux): a service started as child processes (the
 * `annals` launcher re-executes node with tsx, so `npm start` is two node processes) is measured as
 * the sum over the tree, not as the launcher alone.
 *
 * Two figures, because sampling cannot see inside a long synchronous call (PGlite's initdb blocks the
 * event loop of the process under test for seconds, not ours, but a short spike can fall between
 * samples): `sumOfPeaks` adds each process's own high-water mark (VmHWM, kept by the kernel), an upper
 * bound of the tree's peak, exact when the processes peak together; `sampledPeak` is the largest sum of
 * VmRSS seen by the sampler, a lower bound.
 */
export interface TreeRss {
  /** Sum of the high-water marks of the processes still running at the end: the service itself. */
  readonly servicePeaks: number;
  /**
   * The largest high-water mark among processes that had exited by the end (one-shot helpers such as
   * the PGlite initialiser of a first start); 0 when there were none. They never run beside the
   * service's databases, so adding them to the service's figure would count memory that never coexisted.
   */
  readonly oneShotPeak: number;
  /** Sum of every process's high-water mark, exited ones included: an upper bound of the tree's peak. */
  readonly sumOfPeaks: number;
  readonly sampledPeak: number;
  /** Each process's high-water mark in bytes, by pid, with its command line; `alive`: still running at the end. */
  readonly processes: readonly { pid: number; command: string; peakBytes: number; alive: boolean }[];
}

function children(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
      readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
    );
  } catch {
    return []; // exited meanwhile
  }
}

function tree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...children(out[i]!));
  return out;
}

function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Samples the tree under `rootPid` every `intervalMs` until `stop()`, which must run before the processes exit. */
export function watchTree(rootPid: number, intervalMs = 100): { stop(): TreeRss } {
  const peaks = new Map<number, { command: string; peakBytes: number }>();
  let sampledPeak = 0;
  const sample = () => {
    let sum = 0;
    for (const pid of tree(rootPid)) {
      const rss = statusKb(pid, 'VmRSS');
      const hwm = statusKb(pid, 'VmHWM');
      if (rss === undefined || hwm === undefined) continue;
      sum += rss * 1024;
      const known = peaks.get(pid);
      if (known) known.peakBytes = Math.max(known.peakBytes, hwm * 1024);
      else peaks.set(pid, { command: commandOf(pid), peakBytes: hwm * 1024 });
    }
    sampledPeak = Math.max(sampledPeak, sum);
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop() {
      sample();
      clearInterval(timer);
      const alive = new Set(tree(rootPid));
      const processes = [...peaks.entries()].map(([pid, p]) => ({ pid, ...p, alive: alive.has(pid) }));
      const sum = (ps: typeof processes) => ps.reduce((n, p) => n + p.peakBytes, 0);
      return {
        servicePeaks: sum(processes.filter((p) => p.alive)),
        oneShotPeak: Math.max(0, ...processes.filter((p) => !p.alive).map((p) => p.peakBytes)),
        sumOfPeaks: sum(processes),
        sampledPeak,
        processes,
      };
    },
  };
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).slice(-3).join(' ');
  } catch {
    return '?';
  }
}
