/**
 * The schema in Cedar's JSON form, converted from its text once per schema and given to Cedar from
 * then on. Every Cedar call that takes a schema (validate, preparseSchema) parses it again, and the
 * text's grammar costs Cedar several times what reading the JSON form does: at start, parsing the
 * text four times (checking it, validating, preparsing, reading the action groups) was a large part
 * of checking the shipped set. The JSON is Cedar's own lossless conversion of the text (schemaToJson).
 */
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import type { SchemaJson, SchemaToJsonAnswer } from '@cedar-policy/cedar-wasm/nodejs';

let last: { schemaText: string; json: SchemaJson<string> } | undefined;

/** Cedar's conversion of the text (its parse errors, with their locations, when it does not parse). */
export function convertSchema(schemaText: string): SchemaToJsonAnswer {
  if (last?.schemaText === schemaText) return { type: 'success', json: last.json, warnings: [] };
  const answer = cedar.schemaToJson(schemaText);
  if (answer.type === 'success') last = { schemaText, json: answer.json };
  return answer;
}

/** The JSON form of a schema text; throws when Cedar cannot parse it. */
export function schemaJson(schemaText: string): SchemaJson<string> {
  const answer = convertSchema(schemaText);
  if (answer.type === 'failure') throw new Error(`reading the schema failed: ${answer.errors.map((e) => e.message).join('; ')}`);
  return answer.json;
}

/** The conversion made before for this text (recorded with a checked set), taken as its conversion now. */
export function rememberSchemaJson(schemaText: string, json: SchemaJson<string>): void {
  last = { schemaText, json };
}
