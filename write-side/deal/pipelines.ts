/**
 * Stage tables: a deal's probability is never typed in, it comes from the table of its pipeline (SPEC:
 * deal). Open stages only; won and lost are outcomes reached by WinDeal / LoseDeal, not stages one moves to.
 *
 * The decider takes the tables as an argument (`makeDealDecider`), so per-tenant pipelines can be
 * added later without touching decide; events copy the probability, so changing a table never
 * rewrites history.
 */
export type StageTable = Readonly<Record<string, number>>;
export type PipelineTables = Readonly<Record<string, StageTable>>;

export const DEFAULT_PIPELINE = 'default';
export const DEFAULT_STAGE = 'prospecting';

/** Insertion order is the pipeline order (read models and UIs list stages in this order). */
export const defaultStageTable: StageTable = Object.freeze({
  prospecting: 10,
  qualification: 20,
  proposal: 50,
  negotiation: 75,
});

export const WON_PROBABILITY = 100;
export const LOST_PROBABILITY = 0;

export const defaultPipelines: PipelineTables = Object.freeze({ [DEFAULT_PIPELINE]: defaultStageTable });

/** The probability of `stage` in `pipeline`, or undefined when either is unknown. */
export function stageProbability(pipelines: PipelineTables, pipeline: string, stage: string): number | undefined {
  const table = Object.hasOwn(pipelines, pipeline) ? pipelines[pipeline] : undefined;
  if (!table || !Object.hasOwn(table, stage)) return undefined;
  return table[stage];
}
