import { z } from 'zod';
import type { EventDefinition } from './define.js';

// Placeholder until the lead events land.
export const leadEvents: readonly EventDefinition[] = [];
export const LeadEvent = z.never();
export type LeadEvent = { type: '__lead'; data: never };
