/**
 * The boundaries of the house style, checked in CI (`npm run lint`): every side effect sits behind
 * a *Client (network) or *Repository (PostgreSQL), and use cases hold no I/O of their own.
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
      name: 'no-tests-from-src',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^test/' },
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
