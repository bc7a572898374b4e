/**
 * CPU seconds spent by the local servers and by this process, read from /proc (Linux): what a phase of a
 * bench cost each server, which wall time on a shared 2-core machine cannot say. Processes are told apart
 * by their command line. A process's own time plus that of its children it has reaped (cutime, cstime):
 * a PostgreSQL backend that exits during a phase moves its time into the postmaster's, so a sum over
 * the servers' processes never goes backwards. Elsewhere than Linux every server reads as 0.
 */
import { readFileSync, readdirSync } from 'node:fs';

export type CpuServer = 'postgres' | 'elasticsearch' | 'clickhouse' | 'kafka';
export type CpuSample = Record<CpuServer | 'node', number>;

const TICKS_PER_S = 100; // USER_HZ on Linux

function serverOf(cmdline: string): CpuServer | undefined {
  if (cmdline.startsWith('postgres') || cmdline.includes('/bin/postgres')) return 'postgres';
  if (cmdline.includes('clickhouse')) return 'clickhouse';
  if (cmdline.includes('java')) return cmdline.includes('org.elasticsearch') ? 'elasticsearch' : cmdline.includes('kafka.Kafka') ? 'kafka' : undefined;
  return undefined;
}

export function cpuSample(): CpuSample {
  const out: CpuSample = { postgres: 0, elasticsearch: 0, clickhouse: 0, kafka: 0, node: 0 };
  let pids: string[] = [];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    /* not Linux */
  }
  for (const pid of pids) {
    try {
      const server = serverOf(readFileSync(`/proc/${pid}/cmdline`, 'latin1').replaceAll('\0', ' '));
      if (!server) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from the 3rd (state) on
      // utime, stime, cutime, cstime
      out[server] += (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / TICKS_PER_S;
    } catch {
      /* exited meanwhile */
    }
  }
  const self = process.cpuUsage();
  out.node = (self.user + self.system) / 1e6;
  return out;
}

/** CPU seconds per server between two samples. */
export const cpuSince = (before: CpuSample, after: CpuSample = cpuSample()): CpuSample =>
  Object.fromEntries(Object.entries(after).map(([k, v]) => [k, Math.round((v - before[k as keyof CpuSample]) * 10) / 10])) as CpuSample;
