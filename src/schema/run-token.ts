/** `RunToken` and the `createRunToken` mutation: what a browser needs to follow one run, and nothing more. */
import { assertScope } from '../auth/principal.js';
import { builder } from './builder.js';
import { assertRunId } from './workflow-run.js';

export interface RunTokenShape {
  readonly token: string;
  readonly runId: string;
  readonly expiresAt: Date;
}

export const RunTokenRef = builder.objectRef<RunTokenShape>('RunToken').implement({
  description:
    'A short-lived credential that lets its holder follow one run (`workflowRunEvents`, `workflowRun`) and nothing else. Send it as `Authorization: Bearer <token>` over HTTP and SSE, or as `connectionParams.authorization` over graphql-ws. A subscription opened with it ends with TOKEN_EXPIRED when it expires; resume with a fresh token and your last cursor.',
  fields: (t) => ({
    token: t.exposeString('token', { description: 'The bearer credential (a signed JWT).' }),
    runId: t.exposeID('runId', { description: 'The one run it opens.' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', description: 'When it stops working.' }),
  }),
});

builder.mutationField('createRunToken', (t) =>
  t.field({
    type: RunTokenRef,
    description:
      "Mints a fresh run token for a run, e.g. for a browser whose token expired. Needs the `read` scope (an app's server holds that key; its browsers get the run token).",
    args: { runId: t.arg.id({ required: true, description: 'The run to open.' }) },
    resolve: async (_root, { runId }, ctx) => {
      assertScope(ctx.principal, 'read');
      assertRunId(String(runId));
      const { token, expiresAt } = await ctx.auth.authenticator.tokens.issue(String(runId));
      return { token, runId: String(runId), expiresAt };
    },
  }),
);
