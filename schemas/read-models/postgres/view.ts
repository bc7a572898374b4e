/**
 * The PostgreSQL read models as their readers see them: the name of each view (a stable name over the
 * live generation's table, swapped blue-green by projections/kernel/generations.ts) and the row it holds.
 * Projections create the tables under these names and query-api reads them; neither imports the other.
 *
 * Row types describe values as a reader gets them through platform/sql: int8 cast to text and parsed
 * with BigInt (the two drivers disagree on int8), timestamptz as Date, date and numeric cast to text.
 */
export interface ViewDefinition<Name extends string = string, Row = unknown> {
  readonly name: Name;
  /** Every column of the view, in table order: a reader can select them explicitly, a test compares them to the DDL. */
  readonly columns: readonly (keyof Row & string)[];
}

/**
 * A view of rows `Row`; `columns` must name every key of `Row` (a column added to the row type and
 * forgotten here fails to compile), and projections/postgres checks them against the created table.
 */
export function defineView<Row>() {
  return <const Name extends string, const Columns extends readonly (keyof Row & string)[]>(
    name: Name,
    columns: Columns & (Exclude<keyof Row, Columns[number]> extends never ? unknown : { missing: Exclude<keyof Row, Columns[number]> }),
  ): ViewDefinition<Name, Row> => ({ name, columns });
}
