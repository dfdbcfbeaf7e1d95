#!/usr/bin/env node
// Stand-in for Prisma's native `schema-engine` binary (PRISMA_SCHEMA_ENGINE_BINARY).
// Speaks the same newline-delimited JSON-RPC over stdin/stdout as the binary, but runs the
// WASM schema engine that ships inside the `prisma` package (build/schema_engine_bg.wasm)
// on top of @prisma/adapter-pg. PostgreSQL only.
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { createRequire } from 'node:module';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import * as glue from '@prisma/schema-engine-wasm/schema_engine_bg';

const require = createRequire(import.meta.url);
const prismaDir = path.dirname(require.resolve('prisma/package.json'));
const enginesHash = require('@prisma/engines-version').enginesVersion;

// ---- argv -----------------------------------------------------------------
const argv = process.argv.slice(2);
if (argv.includes('--version') || argv.includes('-V')) {
  process.stdout.write(`schema-engine-cli ${enginesHash} (wasm shim)\n`);
  process.exit(0);
}
const datamodelPaths = [];
let datasource = {};
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--datamodels') datamodelPaths.push(argv[++i]);
  else if (argv[i] === '--datasource') datasource = JSON.parse(argv[++i]);
  else if (argv[i] === '--enabled-preview-features' || argv[i] === '--extension-types') i++;
}
const log = (message, level = 'INFO') =>
  process.stderr.write(
    JSON.stringify({ level, fields: { message }, target: 'schema_engine_wasm_shim' }) + '\n',
  );

// One-shot mode used by the CLI: `schema-engine --datasource {"url":..} cli <command>`
const cliIdx = argv.indexOf('cli');
if (cliIdx !== -1) {
  const command = argv[cliIdx + 1];
  const url = new URL(datasource.url);
  const dbName = decodeURIComponent(url.pathname.slice(1)) || 'postgres';
  const fail = (error_code, message) => {
    // the CLI skips the first stderr line, then looks for an ERROR from schema_engine::logger
    log(`schema-engine wasm shim: cli ${command}`);
    process.stderr.write(
      JSON.stringify({ level: 'ERROR', target: 'schema_engine::logger', fields: { message, error_code } }) +
        '\n',
    );
    process.exit(1);
  };
  const withClient = async (connectionString, fn) => {
    const c = new pg.Client({ connectionString });
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  };
  try {
    if (command === 'can-connect-to-database') {
      await withClient(datasource.url, (c) => c.query('SELECT 1'));
      process.stdout.write('Connection successful\n');
    } else if (command === 'create-database') {
      const admin = new URL(datasource.url);
      admin.pathname = '/postgres';
      await withClient(admin.toString(), (c) => c.query(`CREATE DATABASE "${dbName.replaceAll('"', '""')}"`));
      process.stdout.write(`Database '${dbName}' was successfully created.\n`);
    } else if (command === 'drop-database') {
      const admin = new URL(datasource.url);
      admin.pathname = '/postgres';
      await withClient(admin.toString(), (c) => c.query(`DROP DATABASE "${dbName.replaceAll('"', '""')}"`));
      process.stdout.write(`The database was successfully dropped.\n`);
    } else {
      fail(undefined, `Unsupported cli command in the wasm shim: ${command}`);
    }
    process.exit(0);
  } catch (e) {
    const where = `${url.hostname}:${url.port || 5432}`;
    if (e?.code === '3D000')
      fail('P1003', `Database \`${dbName}\` does not exist on the database server at \`${where}\`.`);
    if (e?.code === '28P01' || e?.code === '28000')
      fail(
        'P1000',
        `Authentication failed against database server at \`${url.hostname}\`, the provided database credentials for \`${decodeURIComponent(url.username)}\` are not valid.`,
      );
    if (e?.code === 'ECONNREFUSED' || e?.code === 'ENOTFOUND')
      fail('P1001', `Can't reach database server at \`${where}\``);
    fail(undefined, String(e?.message ?? e));
  }
}

// ---- pg adapter workarounds -------------------------------------------------
// prisma/prisma#27403: adapter-pg has no column-type mapping for the pg_catalog type
// "char" (OID 18; also name, OID 19, before 7.x) that the schema describer selects.
const REMAP = { 18: 25, 19: 25 };
const fixFields = (res) => {
  for (const f of res?.fields ?? [])
    if (REMAP[f.dataTypeID] !== undefined) f.dataTypeID = REMAP[f.dataTypeID];
  return res;
};
function wrapClient(c) {
  if (c.__catalogSafe) return;
  const q = c.query.bind(c);
  c.query = (...a) => {
    const last = a.length - 1;
    if (typeof a[last] === 'function') {
      const cb = a[last];
      a[last] = (err, res) => cb(err, err ? res : fixFields(res));
    }
    const r = q(...a);
    return r && typeof r.then === 'function' ? r.then(fixFields) : r;
  };
  c.__catalogSafe = true;
}
function pool(connectionString) {
  const p = new pg.Pool({ connectionString, max: 4 });
  p.on('connect', wrapClient);
  return p;
}
// adapter-pg's executeScript() splits a script on every ';' (even inside a dollar-quoted function
// body), so a migration that creates a PL/pgSQL function or trigger fails. PostgreSQL's simple-query
// protocol runs a multi-statement script as sent: hand it over whole.
function wholeScripts(adapter) {
  adapter.executeScript = async function executeScript(script) {
    try {
      await this.client.query(script);
    } catch (error) {
      this.onError(error);
    }
  };
  return adapter;
}

// adapter-pg's connectToShadowDb() does `new Pool({...config, database})`, but pg lets
// a connectionString override `database`, so the "shadow" pool would be the main DB.
class MigratePg extends PrismaPg {
  constructor(url, shadowUrl) {
    super(pool(url), { disposeExternalPool: true });
    this.url = url;
    this.shadowUrl = shadowUrl;
  }
  async connect() {
    return wholeScripts(await super.connect());
  }
  async connectToShadowDb() {
    if (this.shadowUrl) {
      // a user-provided shadow database is reused: empty it first, as the native engine does
      const c = new pg.Client({ connectionString: this.shadowUrl });
      await c.connect();
      try {
        const { rows } = await c.query(
          `SELECT nspname FROM pg_namespace WHERE nspname <> 'information_schema' AND nspname NOT LIKE 'pg\\_%'`,
        );
        for (const { nspname } of rows)
          await c.query(`DROP SCHEMA "${nspname.replaceAll('"', '""')}" CASCADE`);
        await c.query('CREATE SCHEMA IF NOT EXISTS public');
      } finally {
        await c.end();
      }
      return wholeScripts(await new PrismaPg(pool(this.shadowUrl), { disposeExternalPool: true }).connect());
    }
    const admin = await new PrismaPg(pool(this.url), { disposeExternalPool: true }).connect();
    const name = `prisma_migrate_shadow_db_${randomUUID()}`;
    await admin.executeScript(`CREATE DATABASE "${name}"`);
    const u = new URL(this.url);
    u.pathname = `/${name}`;
    const shadow = wholeScripts(
      await new PrismaPg(pool(u.toString()), { disposeExternalPool: true }).connect(),
    );
    const dispose = shadow.dispose.bind(shadow);
    shadow.dispose = async () => {
      try {
        await dispose();
      } finally {
        await admin.executeScript(`DROP DATABASE IF EXISTS "${name}"`);
        await admin.dispose();
      }
    };
    return shadow;
  }
}

// ---- wasm engine --------------------------------------------------------------
globalThis.PRISMA_WASM_PANIC_REGISTRY ??= {
  message: '',
  set_message(m) {
    this.message = `RuntimeError: ${m}`;
  },
};
const wasmPath =
  process.env.PRISMA_SCHEMA_ENGINE_WASM ?? path.join(prismaDir, 'build', 'schema_engine_bg.wasm');
const wasmModule = new WebAssembly.Module(fs.readFileSync(wasmPath));
const missing = WebAssembly.Module.imports(wasmModule)
  .filter((i) => !(i.name in glue))
  .map((i) => i.name);
if (missing.length) {
  // wasm-bindgen import names are hashed: the JS glue must come from a matching engine build
  log(
    `@prisma/schema-engine-wasm glue does not fit ${wasmPath} (engines ${enginesHash}); missing ${missing.slice(0, 3).join(', ')}`,
    'ERROR',
  );
  process.exit(1);
}
const instance = new WebAssembly.Instance(wasmModule, { './schema_engine_bg.js': glue });
glue.__wbg_set_wasm(instance.exports);
instance.exports.__wbindgen_start();

// One engine per process (like the native binary): its migration-schema cache must survive
// between requests of one CLI command.
let current;
async function getEngine() {
  if (current) return current.engine;
  if (!datasource.url) throw new Error('The datasource.url property is required in your Prisma config file');
  const factory = new MigratePg(datasource.url, datasource.shadowDatabaseUrl);
  const datamodels = datamodelPaths.map((p) => [p, fs.readFileSync(p, 'utf8')]);
  const engine = await glue.SchemaEngine.new(
    { datamodels: datamodels.length ? datamodels : undefined },
    (line) => process.stderr.write(line + '\n'),
    bindMigrationAwareSqlAdapterFactory(factory),
  );
  current = { engine, factory };
  return engine;
}

// `migrate diff` between schema files / empty needs no database with the native binary, but the
// wasm engine still runs one probe query. Answer it from an offline adapter instead of a real DB.
const OFFLINE_TAGS = new Set(['empty', 'schemaDatamodel']);
const needsNoDb = (req) =>
  req.method === 'diff' && OFFLINE_TAGS.has(req.params?.from?.tag) && OFFLINE_TAGS.has(req.params?.to?.tag);
function offlineFactory() {
  const queryable = {
    provider: 'postgres',
    adapterName: 'schema-engine-wasm-shim-offline',
    async queryRaw({ sql }) {
      if (/server_version_num/.test(sql))
        return {
          columnNames: ['exists', 'version', 'numeric_version'],
          columnTypes: [5, 7, 0],
          rows: [[true, 'PostgreSQL 15.0 (offline)', 150000]],
        };
      throw new Error(`offline diff: unexpected query ${sql.slice(0, 80)}`);
    },
    async executeRaw() {
      throw new Error('offline diff: no database');
    },
    async executeScript() {
      throw new Error('offline diff: no database');
    },
    async startTransaction() {
      throw new Error('offline diff: no database');
    },
    getConnectionInfo: () => ({ schemaName: 'public', supportsRelationJoins: true }),
    async dispose() {},
  };
  return {
    provider: 'postgres',
    adapterName: queryable.adapterName,
    connect: async () => queryable,
    connectToShadowDb: async () => queryable,
  };
}
let offline;
async function getOfflineEngine() {
  offline ??= glue.SchemaEngine.new(
    { datamodels: undefined },
    () => {},
    bindMigrationAwareSqlAdapterFactory(offlineFactory()),
  );
  return offline;
}

// The wasm engine's evaluateDataLoss/createMigration get no shadow-DB factory; they only work
// when an earlier devDiagnostic/diagnoseMigrationHistory put the schema of *this* migration list
// into the engine's cache (not the case after `migrate dev` applied pending migrations). On that
// error, warm the cache through diagnoseMigrationHistory (which does use the factory) and retry.
const NEEDS_SHADOW = /shadow DB must be provided through an external factory/;
async function callWithShadowRetry(eng, method, params) {
  try {
    return await eng[method](params);
  } catch (e) {
    if (!['evaluateDataLoss', 'createMigration'].includes(method) || !NEEDS_SHADOW.test(String(e?.message)))
      throw e;
    log(`${method}: warming the migration schema cache through diagnoseMigrationHistory`);
    await eng.diagnoseMigrationHistory({
      migrationsList: params.migrationsList,
      optInToShadowDatabase: true,
      filters: params.filters ?? { externalTables: [], externalEnums: [] },
    });
    return await eng[method](params);
  }
}

// JSON-RPC method name -> wasm method name
const METHODS = {
  applyMigrations: 'applyMigrations',
  createMigration: 'createMigration',
  dbExecute: 'dbExecute',
  debugPanic: 'debugPanic',
  devDiagnostic: 'devDiagnostic',
  diagnoseMigrationHistory: 'diagnoseMigrationHistory',
  ensureConnectionValidity: 'ensureConnectionValidity',
  evaluateDataLoss: 'evaluateDataLoss',
  getDatabaseVersion: 'version',
  introspect: 'introspect',
  diff: 'diff',
  markMigrationApplied: 'markMigrationApplied',
  markMigrationRolledBack: 'markMigrationRolledBack',
  reset: 'reset',
  schemaPush: 'schemaPush',
  introspectSql: 'introspectSql',
};

const send = (msg) => process.stdout.write(JSON.stringify(msg) + '\n');
let nextOwnId = 1_000_000;
const pendingPrints = new Map();
const print = (content) =>
  new Promise((resolve) => {
    const id = nextOwnId++;
    pendingPrints.set(id, resolve);
    send({ jsonrpc: '2.0', id, method: 'print', params: { content: content.replace(/\n$/, '') } });
  });

function toRpcError(e) {
  const isPanic = e instanceof WebAssembly.RuntimeError || e?.name === 'RuntimeError';
  const message = isPanic
    ? globalThis.PRISMA_WASM_PANIC_REGISTRY.message || String(e?.message ?? e)
    : String(e?.message ?? e);
  return {
    code: 4466,
    message: 'An error happened. Check the data field for details.',
    data: {
      is_panic: isPanic,
      message,
      ...(e?.code ? { error_code: e.code, meta: e.meta ?? {} } : {}),
      ...(isPanic ? { error: { message } } : {}),
    },
  };
}

async function handle(req) {
  const method = METHODS[req.method];
  try {
    if (!method) throw new Error(`Method ${req.method} is not supported by the wasm schema engine shim`);
    const eng = needsNoDb(req) ? await getOfflineEngine() : await getEngine();
    let result = await callWithShadowRetry(
      eng,
      method,
      method === 'version' ? (req.params ?? undefined) : (req.params ?? {}),
    );
    if (req.method === 'diff' && result && typeof result.stdout === 'string') {
      const { stdout, ...rest } = result;
      if (stdout) await print(stdout);
      result = rest;
    }
    send({ jsonrpc: '2.0', id: req.id, result: result ?? {} });
  } catch (e) {
    log(String(e?.stack ?? e), 'ERROR');
    send({ jsonrpc: '2.0', id: req.id, error: toRpcError(e) });
  }
}

// errors thrown from inside wasm closures escape the request's try/catch
process.on('uncaughtException', (e) => {
  log(String(e?.message ?? e), 'ERROR');
  process.exit(1);
});

let queue = Promise.resolve();
const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
rl.on('line', (line) => {
  if (!line.trim()) return;
  const msg = JSON.parse(line);
  if (msg.method === undefined && pendingPrints.has(msg.id)) {
    pendingPrints.get(msg.id)();
    pendingPrints.delete(msg.id);
    return;
  }
  queue = queue.then(() => handle(msg)); // the engine handles one request at a time
});
rl.on('close', async () => {
  await queue;
  try {
    current?.engine.free();
  } catch (error) {
    // the process exits next: a failure to free wasm memory only deserves a note
    log(`engine.free failed: ${String(error?.message ?? error)}`, 'WARN');
  }
  process.stdout.write('', () => process.exit(0)); // flush pending responses first
});
