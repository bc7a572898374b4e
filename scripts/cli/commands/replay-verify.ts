import { run as runRebuildOrVerify } from './replay-rebuild.js';

/** `annals replay verify`: the rebuild's one-pass replay into temporary generations, then a row diff (replay-rebuild.ts). */
export const run = (args: string[]): Promise<number> => runRebuildOrVerify(args, 'verify');
