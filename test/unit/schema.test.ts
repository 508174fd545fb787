/** The committed SDL is the schema, and the schema documents itself. */
import { readFileSync } from 'node:fs';
import {
  type GraphQLNamedType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  isSpecifiedDirective,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { printGatewaySchema, schema } from '../../src/schema/index.js';

const builtInScalars = new Set(['String', 'Int', 'Float', 'Boolean', 'ID']);

const isOurs = (type: GraphQLNamedType): boolean => !type.name.startsWith('__') && !builtInScalars.has(type.name);

const described = (description: string | null | undefined): boolean =>
  typeof description === 'string' && description.trim() !== '';

/** Every schema element that needs a description, by coordinate, with the one it has. */
function elements(): Array<[string, string | null | undefined]> {
  const out: Array<[string, string | null | undefined]> = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isOurs(type)) continue;
    out.push([type.name, type.description]);
    if (isObjectType(type) || isInterfaceType(type)) {
      for (const field of Object.values(type.getFields())) {
        out.push([`${type.name}.${field.name}`, field.description]);
        for (const arg of field.args) out.push([`${type.name}.${field.name}(${arg.name}:)`, arg.description]);
      }
    }
    if (isInputObjectType(type)) {
      for (const field of Object.values(type.getFields())) out.push([`${type.name}.${field.name}`, field.description]);
    }
    if (isEnumType(type)) {
      for (const value of type.getValues()) out.push([`${type.name}.${value.name}`, value.description]);
    }
  }
  for (const directive of schema.getDirectives()) {
    if (isSpecifiedDirective(directive)) continue;
    out.push([`@${directive.name}`, directive.description]);
    for (const arg of directive.args) out.push([`@${directive.name}(${arg.name}:)`, arg.description]);
  }
  return out;
}

describe('the GraphQL schema', () => {
  it('should equal the committed schema.graphql', () => {
    const committed = readFileSync(new URL('../../schema.graphql', import.meta.url), 'utf8');
    expect(committed, 'schema.graphql differs from the Pothos schema: run `npm run schema:print` and commit it').toBe(
      printGatewaySchema(),
    );
  });

  it('should describe every type, field, argument and enum value', () => {
    const all = elements();
    const missing = all.filter(([, description]) => !described(description)).map(([coordinate]) => coordinate);
    expect(missing, 'schema elements without a description').toEqual([]);
  });

  it('should walk the whole schema when checking descriptions', () => {
    const coordinates = new Set(elements().map(([coordinate]) => coordinate));
    // a type of each kind, a field, an argument and an enum value the walk must reach
    for (const expected of [
      'Query',
      'Subscription',
      'RunEvent',
      'WorkflowRunEvent',
      'RunStatus',
      'RunStatus.COMPLETED',
      'JSON',
      'WorkflowRun.steps',
    ]) {
      expect(coordinates, expected).toContain(expected);
    }
    expect([...coordinates].some((c) => c.endsWith(':)'))).toBe(true);
    expect([...coordinates].some((c) => c.startsWith('__') || builtInScalars.has(c))).toBe(false);
  });
});
