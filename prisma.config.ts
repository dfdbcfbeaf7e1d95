import path from 'node:path';
import { defineConfig } from 'prisma/config';

// These machines cannot download Prisma's native schema engine. The `prisma` package ships the
// same engine as WebAssembly; scripts/schema-engine-wasm.mjs runs it behind the native binary's
// JSON-RPC interface. A native engine configured by the operator (or found by a Docker build with
// network access) wins: hence `??=`.
process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= path.join(import.meta.dirname, 'scripts/schema-engine-wasm.mjs');

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: {
    // `prisma generate` needs no database: do not fail when DATABASE_URL is unset.
    url: process.env.DATABASE_URL ?? 'postgresql://unset@localhost/unset',
    shadowDatabaseUrl: process.env.SHADOW_DATABASE_URL,
  },
});
