/**
 * GraphQL Code Generator over the committed schema.graphql (the contract) and
 * the operation documents of this repository: one `generates` entry per
 * client, each with its own documents. `npm run codegen` writes the generated
 * files; `npm run codegen:check` (run by `npm test`) fails when they are
 * stale. Client apps run the same tool against schema.graphql (README).
 */
import type { CodegenConfig } from '@graphql-codegen/cli';

/** What every client here wants: custom scalars typed, `__typename` always there (unions discriminate on it). */
const common = {
  scalars: { DateTime: 'string', JSON: 'unknown' },
  useTypeImports: true,
  avoidOptionals: { field: true, inputValue: false },
  nonOptionalTypename: true,
};

const config: CodegenConfig = {
  schema: 'schema.graphql',
  ignoreNoDocuments: false,
  // ESM: relative imports between generated files carry `.js`
  emitLegacyCommonJSImports: false,
  generates: {
    // the tests' own documents: types only, the tests send the strings
    'test/generated/operations.ts': {
      documents: ['test/helpers/operations.ts'],
      plugins: ['typescript-operations'],
      config: { ...common, enumsAsTypes: true },
    },
    // Apollo Client: typed documents from .graphql files, no fragment masking (Apollo's codegen guide)
    'examples/apollo/generated/graphql.ts': {
      documents: ['examples/apollo/**/*.graphql'],
      plugins: ['typescript-operations', 'typed-document-node'],
      config: { ...common, skipTypeNameForRoot: true },
    },
    // urql: the client preset, with `graphql()` in the example's sources (urql's codegen guide)
    'examples/urql/generated/': {
      documents: ['examples/urql/**/*.ts', '!examples/urql/generated/**'],
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: common,
    },
    // the web page (web/): the client preset with string documents, so the page bundles no GraphQL parser
    'web/src/generated/': {
      documents: ['web/src/**/*.ts', '!web/src/generated/**'],
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: { ...common, enumsAsTypes: true, documentMode: 'string' },
    },
  },
};

export default config;
