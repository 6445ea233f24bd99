import { z } from 'zod';

/**
 * The whole configuration of Stockade in one strict schema. Defaults live here and nowhere else;
 * docs/configuration.md documents every key and a test keeps the two in step.
 */
const serverSchema = z
  .object({
    /** Interface to listen on. */
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8080),
    /** Base URL clients reach the server at, e.g. `https://packages.example.com`; derived from the request when unset. */
    publicUrl: z.string().url().nullable().default(null),
    /** Honour X-Forwarded-Proto/Host/For only when a trusted reverse proxy sets them. */
    trustProxy: z.boolean().default(false),
    /** Largest request body accepted, in bytes (npm publishes carry the tarball in base64 JSON). */
    bodyLimit: z.number().int().positive().default(100 * 1024 * 1024),
    /** Largest total size of request headers, in bytes. */
    maxHeaderSize: z.number().int().min(1024).max(1024 * 1024).default(16 * 1024),
    /** Log one line per request. */
    requestLogging: z.boolean().default(true),
    /**
     * Server processes sharing the port (`stockade serve` forks them): 1 runs in the serve process
     * itself, `auto` starts one per CPU. They work like nodes of a cluster on one database.
     */
    workers: z.union([z.literal('auto'), z.number().int().min(1).max(256)]).default(1),
  })
  .strict();

const sqliteSchema = z
  .object({
    dialect: z.literal('sqlite'),
    /** SQLite database file; relative paths are resolved against `dataDir`. */
    path: z.string().min(1).default('stockade.db'),
  })
  .strict();

const postgresSchema = z
  .object({
    dialect: z.literal('postgres'),
    /** Connection URL, e.g. `postgres://user@host:5432/stockade`. */
    url: z.string().min(1),
    poolSize: z.number().int().min(1).max(1000).default(10),
  })
  .strict();

const blobsSchema = z
  .object({
    kind: z.literal('fs').default('fs'),
    /** Folder for package files; relative paths are resolved against `dataDir`. */
    root: z.string().min(1).default('blobs'),
    /** Bytes of small, frequently downloaded files kept in memory per node (0 turns it off). */
    memoryCacheBytes: z.number().int().min(0).default(64 * 1024 * 1024),
  })
  .strict();

const npmSchema = z
  .object({
    /** Who may unpublish: `admins` (owner admins and site admins), `writers` (anyone who may publish) or `nobody`. */
    unpublish: z.enum(['admins', 'writers', 'nobody']).default('admins'),
  })
  .strict();

const authSchema = z
  .object({
    /** Minimum password length for new passwords. */
    passwordMinLength: z.number().int().min(8).max(1024).default(10),
    /** Longest lifetime a token may be given, in days (0 = unlimited). */
    maxTokenLifetimeDays: z.number().int().min(0).default(0),
    /** Lifetime of tokens issued by `npm login`, in days (0 = no expiry). */
    loginTokenLifetimeDays: z.number().int().min(0).default(30),
    /** Longest lifetime of an automation token, in days: automation tokens skip one-time passwords, so they must expire. */
    maxAutomationTokenLifetimeDays: z.number().int().min(1).max(3650).default(90),
    /**
     * Key that seals secrets at rest (TOTP secrets), 64 hex characters. Null: a random key is
     * created in `<dataDir>/secret.key` on first start. Every node of a cluster needs the same key.
     */
    secretKey: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hex characters (32 bytes)')
      .nullable()
      .default(null),
    /** Issuer shown by authenticator apps next to the account name. */
    totpIssuer: z.string().min(1).max(64).default('Stockade'),
    lockout: z
      .object({
        /** Failed attempts (per account, and per client address) allowed before a delay is imposed. */
        threshold: z.number().int().min(1).max(1000).default(5),
        /** First delay after the threshold, in seconds; it doubles with every further failure. */
        baseDelaySeconds: z.number().int().min(1).max(3600).default(30),
        /** Longest delay, in seconds: a lockout always ends by itself (an admin can end it sooner). */
        maxDelaySeconds: z.number().int().min(1).max(86_400).default(900),
      })
      .strict()
      .default({}),
    sessions: z
      .object({
        /** A browser session ends after this many minutes without a request. */
        idleMinutes: z.number().int().min(1).max(10_080).default(60),
        /** A browser session ends this many hours after login, however active. */
        absoluteHours: z.number().int().min(1).max(720).default(12),
      })
      .strict()
      .default({}),
  })
  .strict();

const signingSchema = z
  .object({
    /** RSA modulus of new repository signing keys: 4096 works with every apt and rpm; smaller keys only for tests. */
    rsaBits: z.union([z.literal(2048), z.literal(3072), z.literal(4096)]).default(4096),
  })
  .strict();

const advisoriesSchema = z
  .object({
    /** OSV zip that `stockade advisories sync` downloads; nothing is fetched unless this (or a URL argument) is set. */
    syncUrl: z.string().url().nullable().default(null),
  })
  .strict();

const gateSchema = z
  .object({
    /** Time budget of one analyzer on one artifact, in milliseconds; an analyzer that overruns counts as failed. */
    analyzerTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
    /**
     * false runs no analyzer, so every upload is allowed unscanned. Only for measuring the storage
     * path or importing content that was vetted elsewhere; the server warns at start.
     */
    enabled: z.boolean().default(true),
  })
  .strict();

export const configSchema = z
  .object({
    /** Folder for the embedded database and blobs; created on start. */
    dataDir: z.string().min(1).default('./data'),
    server: serverSchema.default({}),
    database: z.discriminatedUnion('dialect', [sqliteSchema, postgresSchema]).default({ dialect: 'sqlite' }),
    blobs: blobsSchema.default({}),
    npm: npmSchema.default({}),
    auth: authSchema.default({}),
    signing: signingSchema.default({}),
    advisories: advisoriesSchema.default({}),
    gate: gateSchema.default({}),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      })
      .strict()
      .default({}),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
