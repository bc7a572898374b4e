import type { ContactRow } from '../../../schemas/read-models/postgres/index.js';
import type { QueryContext } from '../../context.js';
import { int32, int8Text, personalField, toEnum } from '../common/rows.js';

/**
 * A contact as GraphQL reads it: the read-model row behind getters named after the schema's fields (why
 * getters and not resolvers: deals/nodes.ts). The personal fields are masked for the request's caller
 * (`ctx`) exactly as the resolvers did: "[erased]" for an erased subject, masked without read:personal.
 * Relationships (mergedInto, timeline, deals, consents, convertedFromLead) keep their resolvers, which
 * read `row`; `__typename` answers the SearchResult union.
 */
export class ContactNode {
  constructor(
    readonly row: ContactRow,
    private readonly ctx: QueryContext,
  ) {}
  get __typename(): 'Contact' {
    return 'Contact';
  }
  get id(): string {
    return this.row.contact_id;
  }
  get firstName(): string | null {
    return personalField(this.ctx, this.row.first_name, 'name', this.erased);
  }
  get lastName(): string | null {
    return personalField(this.ctx, this.row.last_name, 'name', this.erased);
  }
  get email(): string | null {
    return personalField(this.ctx, this.row.email, 'email', this.erased);
  }
  get phone(): string | null {
    return personalField(this.ctx, this.row.phone, 'phone', this.erased);
  }
  get company(): string | null {
    return this.row.company;
  }
  get title(): string | null {
    return this.row.title;
  }
  get tags(): readonly string[] {
    return this.row.tags;
  }
  get customFields(): unknown {
    return this.erased ? null : this.ctx.personalJson(this.row.custom_fields);
  }
  get status(): string {
    return toEnum(this.row.status);
  }
  get erased(): boolean {
    return this.row.status === 'erased';
  }
  get mergedAt(): Date | null {
    return this.row.merged_at;
  }
  get createdAt(): Date {
    return this.row.created_at;
  }
  get updatedAt(): Date {
    return this.row.updated_at;
  }
  get lastInteractionAt(): Date | null {
    return this.row.last_interaction_at;
  }
  get erasedAt(): Date | null {
    return this.row.erased_at;
  }
  get revision(): number {
    return int32(this.row.revision);
  }
  get position(): string {
    return int8Text(this.row.position);
  }
}
