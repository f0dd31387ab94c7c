/**
 * Metadata filters as SQL over `d.metadata` (jsonb). Keys and values are only ever bound parameters: the SQL text
 * is built from fixed fragments and parameter numbers, so no filter, however hostile, can change the statement.
 *
 * @module
 */
import type { Filter, FilterCondition, FilterScalar } from '../protocol/knowledge.ts';

/** A value bound to a statement: `bigint` binds as int8, `number` as float8, strings as text. */
export type SqlValue = string | number | bigint | boolean | null;

/** Collects bound values and hands out their placeholders. */
export class SqlParams {
  readonly values: SqlValue[] = [];

  /** `$n` for `value`, cast to the type the statement should see. */
  add(value: SqlValue, cast: 'text' | 'int8' | 'float8' | 'bool' | 'jsonb' = castOf(value)): string {
    this.values.push(value);
    const n = this.values.length;
    // jsonb arrives as text and is cast by the server: a typed client (Spin's) binds strings as text only.
    return cast === 'jsonb' ? `$${n}::text::jsonb` : `$${n}::${cast}`;
  }
}

function castOf(value: SqlValue): 'text' | 'int8' | 'float8' | 'bool' {
  if (typeof value === 'bigint') return 'int8';
  if (typeof value === 'number') return 'float8';
  if (typeof value === 'boolean') return 'bool';
  return 'text';
}

/** `d.metadata` has `key` equal to `value`, or holding an array that contains it. */
function equals(p: SqlParams, key: string, value: FilterScalar): string {
  const one = p.add(JSON.stringify({ [key]: value }), 'jsonb');
  const inArray = p.add(JSON.stringify({ [key]: [value] }), 'jsonb');
  return `(d.metadata @> ${one} OR d.metadata @> ${inArray})`;
}

const OPS = { gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;

function condition(p: SqlParams, key: string, c: FilterCondition): string {
  if (c === null || typeof c !== 'object') return equals(p, key, c);
  if ('eq' in c) return equals(p, key, c.eq);
  if ('ne' in c) return `NOT ${equals(p, key, c.ne)}`;
  if ('in' in c) {
    const k = p.add(key, 'text');
    const values = p.add(JSON.stringify(c.in), 'jsonb');
    return (
      `EXISTS (SELECT 1 FROM jsonb_array_elements(${values}) AS f(v) ` +
      `WHERE d.metadata @> jsonb_build_object(${k}, f.v) OR d.metadata @> jsonb_build_object(${k}, jsonb_build_array(f.v)))`
    );
  }
  if ('exists' in c) return `(d.metadata -> ${p.add(key, 'text')}) IS ${c.exists ? 'NOT ' : ''}NULL`;
  const parts: string[] = [];
  for (const op of ['gt', 'gte', 'lt', 'lte'] as const) {
    const bound = c[op];
    if (bound === undefined) continue;
    const k = p.add(key, 'text');
    // CASE keeps the cast from running on values of another JSON type (a string is not compared as a number).
    if (typeof bound === 'number') {
      parts.push(
        `(CASE WHEN jsonb_typeof(d.metadata -> ${k}) = 'number' THEN (d.metadata ->> ${k})::float8 END) ${OPS[op]} ${p.add(bound, 'float8')}`,
      );
    } else {
      parts.push(`(CASE WHEN jsonb_typeof(d.metadata -> ${k}) = 'string' THEN d.metadata ->> ${k} END) ${OPS[op]} ${p.add(bound, 'text')}`);
    }
  }
  return `(${parts.join(' AND ')})`;
}

/** The filter as a SQL condition on `d.metadata` (`TRUE` when empty), with its values added to `p`. */
export function filterSql(filter: Filter | undefined, p: SqlParams): string {
  const entries = Object.entries(filter ?? {});
  if (entries.length === 0) return 'TRUE';
  return entries.map(([key, c]) => condition(p, key, c)).join(' AND ');
}
