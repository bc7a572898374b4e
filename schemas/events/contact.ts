import { z } from 'zod';
import type { EventDefinition } from './define.js';

// Placeholder until the contact events land.
export const contactEvents: readonly EventDefinition[] = [];
export const ContactEvent = z.never();
export type ContactEvent = { type: '__contact'; data: never };
