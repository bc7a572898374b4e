/**
 * One case in one fresh process: `node --import tsx bench/case-runner.ts '<CaseSpec JSON>'`, forked
 * by bench/run.ts. It loads only the system under test, runs the workload (warm-up included) and
 * sends back a CaseResult over IPC with the peak RSS of the service under test.
 */
import { systems } from './lib/system.js';
import type { CaseResult, CaseSpec, ServiceSystem, StoreSystem } from './lib/types.js';
import { workloads } from './workloads/index.js';

const spec = JSON.parse(process.argv[2] ?? '{}') as CaseSpec;
const loadWorkload = workloads[spec.workload];
if (!loadWorkload) throw new Error(`unknown workload ${spec.workload}`);
const workload = await loadWorkload();
// resourceUsage().maxRSS is in kilobytes.
const ownPeakRss = () => process.resourceUsage().maxRSS * 1024;

let result: CaseResult & { settings?: Record<string, string> };
if (workload.kind === 'service') {
  const measured = await workload.run(spec.system as ServiceSystem, spec.params);
  result = { ...measured, maxRssBytes: measured.maxRssBytes ?? ownPeakRss() };
} else {
  const driver = await (await systems[spec.system as StoreSystem]()).open({ poolSize: workload.poolSize(spec.params) });
  try {
    const measured = await workload.run(driver, spec.params);
    result = { ...measured, maxRssBytes: ownPeakRss(), settings: await driver.describe() };
  } finally {
    await driver.close();
  }
}
if (process.send) process.send(result);
else console.log(JSON.stringify(result));
