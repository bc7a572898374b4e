import { z } from 'zod';
import type { EventDefinition } from './define.js';

// Placeholder until the budget events land.
export const budgetEvents: readonly EventDefinition[] = [];
export const BudgetEvent = z.never();
export type BudgetEvent = { type: '__budget'; data: never };
