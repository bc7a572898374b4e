/**
 * What `decide` needs to know about a contact. An active contact keeps its current field values,
 * because UpdateContact emits only what differs from them. A merged or erased contact keeps no
 * personal data: it is read-only, and an erased one must not hold anything a rebuild could resurrect.
 */
export interface ContactFields {
  readonly firstName: string;
  readonly lastName: string;
  readonly email: string | undefined;
  readonly phone: string | undefined;
  readonly company: string | undefined;
  readonly title: string | undefined;
  readonly customFields: Readonly<Record<string, string>>;
  readonly tags: readonly string[];
}

export type ContactState =
  | { readonly status: 'Absent' }
  | ({ readonly status: 'Active'; readonly contactId: string } & ContactFields)
  | { readonly status: 'Merged'; readonly contactId: string; readonly survivorId: string }
  | { readonly status: 'Erased'; readonly contactId: string };

export type ActiveContactState = Extract<ContactState, { status: 'Active' }>;

export const initialContactState = (): ContactState => ({ status: 'Absent' });
