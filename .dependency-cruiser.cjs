/**
 * The boundaries of the house style, checked in CI (`npm run lint`): every side effect sits behind
 * a *Client (network) or *Repository (PostgreSQL), use cases hold no I/O of their own, and the
 * modules depend on each other in one direction only.
 */
module.exports = {
  forbidden: [
    {
      name: 'prisma-only-in-repositories',
      comment: 'Only *.repository.ts (and the db module that provides the client) may use Prisma.',
      severity: 'error',
      from: { path: '^src/', pathNot: ['\\.repository\\.ts$', '^src/db/', '^src/generated/'] },
      to: { path: ['^src/generated/', '@prisma/', 'node_modules/pg/'] },
    },
    {
      name: 'aws-sdk-only-in-archive-store-client',
      comment: 'S3 is reached through ArchiveStoreClient only.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/archive/archive-store\\.client\\.ts$' },
      to: { path: '@aws-sdk/' },
    },
    {
      name: 'undici-only-in-dialnexa',
      comment: 'DialNexa is reached through DialnexaClient only.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/dialnexa/' },
      to: { path: 'undici' },
    },
    {
      name: 'pg-boss-only-in-jobs',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/jobs/' },
      to: { path: 'pg-boss' },
    },
    {
      name: 'prom-client-only-in-ops',
      comment:
        'Modules report metrics through the port in src/ops/metrics.port.ts; only ops knows Prometheus.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/ops/' },
      to: { path: 'prom-client' },
    },
    {
      name: 'pino-only-in-ops',
      comment:
        "Modules log through Nest's Logger and bind fields through common/log-context.ts; pino is ops' business.",
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/ops/', '^src/(main|app\\.module)\\.ts$'] },
      to: { path: ['node_modules/pino', 'node_modules/nestjs-pino', 'node_modules/pino-http'] },
    },
    {
      name: 'modules-use-only-the-metrics-port-of-ops',
      comment:
        'Below the app module, ops is reached through its port (metrics.port.ts) only: ops imports the modules ' +
        'it checks for health, so anything more would turn into a cycle or a second door.',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/ops/', '^src/(app\\.module|http|main)\\.ts$'] },
      to: { path: '^src/ops/', pathNot: '^src/ops/metrics\\.port\\.ts$' },
    },
    {
      name: 'no-tests-from-src',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^test/' },
    },
    {
      name: 'prisma-client-only-in-repositories',
      comment:
        'The Prisma client and the unwrapping of a Transaction stay in repositories; use cases take part in ' +
        "a transaction through db/unit-of-work.ts's UnitOfWork and opaque Transaction.",
      severity: 'error',
      from: { path: '^src/', pathNot: ['\\.repository\\.ts$', '^src/db/'] },
      to: { path: '^src/db/prisma' },
    },
    // Module directions. `teardown` is on top: it may use holds, approvals, audit, archive and
    // dialnexa, and none of them (nor anything else but the app module) may use it back, so a
    // module below can be read, tested and changed without the teardown module.
    {
      name: 'nothing-depends-on-teardown',
      comment:
        'Only the app module and the web console import src/teardown/ (approvals: see the next rule). Holds and approvals reach ' +
        'the teardown table through the ports they declare (HeldTeardowns, ApprovalSubjects), which ' +
        'TeardownRepository implements and TeardownModule hands them in `register`.',
      severity: 'error',
      from: {
        path: '^src/',
        // the web console sits on top, beside the REST controllers, and uses the same use cases
        pathNot: ['^src/teardown/', '^src/app\\.module\\.ts$', '^src/approvals/', '^src/console/'],
      },
      to: { path: '^src/teardown/' },
    },
    {
      name: 'approvals-use-only-the-pure-teardown-contract',
      comment:
        'A decision moves a teardown through the one state machine and answers with the teardown resource, ' +
        'so approvals may import the pure files that define them: the domain types (teardown.ts), ' +
        'transition() (teardown-state.ts) and the resource (teardown.presenter.ts). Nothing with I/O: ' +
        'the teardown row is reached through the ApprovalSubjects port that the teardown module implements.',
      severity: 'error',
      from: { path: '^src/approvals/' },
      to: {
        path: '^src/teardown/',
        pathNot: '^src/teardown/(teardown|teardown-state|teardown\\.presenter)\\.ts$',
      },
    },
    {
      name: 'pure-teardown-contract-stays-pure',
      comment:
        'The teardown files approvals may import must not reach the rest of the teardown module, or the ' +
        'exception above would let approvals depend on it after all.',
      severity: 'error',
      from: { path: '^src/teardown/(teardown|teardown-state|teardown\\.presenter)\\.ts$' },
      to: {
        path: '^src/teardown/',
        pathNot: '^src/teardown/(teardown|teardown-state|teardown\\.presenter)\\.ts$',
      },
    },
    {
      name: 'lower-modules-do-not-depend-on-approvals',
      comment:
        'Approvals sit between teardown and the modules it uses: holds, audit, archive and dialnexa never import it.',
      severity: 'error',
      from: { path: '^src/(holds|audit|archive|dialnexa)/' },
      to: { path: '^src/approvals/' },
    },
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['^src/generated/', '\\.spec\\.ts$'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
    },
  },
};
