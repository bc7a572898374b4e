/**
 * One case in one fresh process: `node --import tsx bench/case-runner.ts '<CaseSpec JSON>'`, forked
 * by bench/run.ts. It loads only the system under test, runs the workload (warm-up included) and
 * sends back a CaseResult over IPC with the process's peak RSS.
 */
import { systems } from './lib/system.js';
import type { CaseResult, CaseSpec } from './lib/types.js';
import { workloads } from './workloads/index.js';

const spec = JSON.parse(process.argv[2] ?? '{}') as CaseSpec;
const loadWorkload = workloads[spec.workload];
if (!loadWorkload) throw new Error(`unknown workload ${spec.workload}`);
const workload = await loadWorkload();
const driver = await (await systems[spec.system]()).open({ poolSize: workload.poolSize(spec.params) });
try {
  const measured = await workload.run(driver, spec.params);
  const settings = await driver.describe();
  const result: CaseResult & { settings: Record<string, string> } = {
    ...measured,
    // resourceUsage().maxRSS is in kilobytes.
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    settings,
  };
  if (process.send) process.send(result);
  else console.log(JSON.stringify(result));
} finally {
  await driver.close();
}
