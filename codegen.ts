/**
 * GraphQL Code Generator over the committed schema.graphql (the contract) and
 * the operation documents of this repository. `npm run codegen` writes the
 * generated types; `npm run codegen:check` (run by `npm test`) fails when they
 * are stale. Client apps run the same tool against schema.graphql (README).
 */
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['test/helpers/operations.ts'],
  ignoreNoDocuments: false,
  generates: {
    'test/generated/operations.ts': {
      plugins: ['typescript-operations'],
      config: {
        scalars: { DateTime: 'string', JSON: 'unknown' },
        enumsAsTypes: true,
        useTypeImports: true,
        avoidOptionals: { field: true, inputValue: false },
        nonOptionalTypename: true,
      },
    },
  },
};

export default config;
