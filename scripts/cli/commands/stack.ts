// `annals stack …` (see scripts/stack/stack.ts).
import { stackCommand } from '../../stack/stack.js';

export function run(args: string[]): Promise<number> {
  return stackCommand(args);
}
