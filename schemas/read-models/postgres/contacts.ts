import { defineView } from './view.js';

/**
 * Read model `contacts`: one row per contact, current state (active, merged into a survivor, or erased:
 * personal columns null, the row stays so ids, merges and deals still resolve).
 */

export interface ContactRow {
  readonly tenant_id: string;
  readonly contact_id: string;
  readonly first_name: string | null;
  readonly last_name: string | null;
  readonly email: string | null;
  readonly phone: string | null;
  readonly custom_fields: unknown;
  readonly company: string | null;
  readonly title: string | null;
  readonly tags: readonly string[];
  readonly status: 'active' | 'merged' | 'erased';
  readonly merged_into: string | null;
  readonly merged_at: Date | null;
  readonly converted_from_lead_id: string | null;
  readonly created_at: Date;
  readonly updated_at: Date;
  readonly last_interaction_at: Date | null;
  readonly erased_at: Date | null;
  readonly revision: bigint;
  readonly position: bigint;
}

export const contactsView = defineView<ContactRow>()('contacts', [
  'tenant_id', 'contact_id', 'first_name', 'last_name', 'email', 'phone', 'custom_fields', 'company', 'title', 'tags',
  'status', 'merged_into', 'merged_at', 'converted_from_lead_id', 'created_at', 'updated_at', 'last_interaction_at',
  'erased_at', 'revision', 'position',
]);
