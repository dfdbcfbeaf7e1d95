// Three tiers (and the console's browser tests), one project each (house style): unit specs sit beside the code and do no I/O;
// integration specs use the real PostgreSQL and S3 store; e2e specs run the whole service over
// HTTP against the DialNexa simulator. `npm test` (scripts/test.sh) starts what they need.
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2023',
      keepClassNames: true,
    },
    module: { type: 'es6' },
    sourceMaps: 'inline',
  },
];

const common = {
  rootDir: '.',
  testEnvironment: 'node',
  moduleFileExtensions: ['js', 'json', 'ts'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': swc },
};

/** @type {import('jest').Config} */
export default {
  // a per-project testTimeout is ignored by jest: the e2e tests set the bound for all
  testTimeout: 90_000,
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.spec.ts'],
    },
    {
      ...common,
      displayName: 'int',
      testMatch: ['<rootDir>/test/int/**/*.int-spec.ts'],
      testTimeout: 30_000,
    },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts'],
      testTimeout: 90_000,
      // All S3 traffic through the AWS-rules proxy, to a bucket with a default retention rule; a
      // request AWS would refuse fails its test (test/support/aws-rules-proxy.ts).
      globalSetup: '<rootDir>/test/support/e2e-global-setup.ts',
      globalTeardown: '<rootDir>/test/support/e2e-global-teardown.ts',
      setupFilesAfterEnv: ['<rootDir>/test/support/aws-rules-guard.ts'],
    },
    {
      ...common,
      // the web console in Debian's headless Chromium, on the e2e tier's services and set-up
      displayName: 'browser',
      testMatch: ['<rootDir>/test/browser/**/*.browser-spec.ts'],
      testTimeout: 90_000,
      globalSetup: '<rootDir>/test/support/e2e-global-setup.ts',
      globalTeardown: '<rootDir>/test/support/e2e-global-teardown.ts',
      setupFilesAfterEnv: ['<rootDir>/test/support/aws-rules-guard.ts'],
    },
  ],
};
