import { CHANNEL_JOB_OPTIONS } from "@share-broker/channel";
import type { RedisOptions } from "ioredis";

/**
 * The bare baseline: one share's I/O shape without its business logic. The three hops and the
 * connection settings mirror the product; payloads are padded to the size of the product's sealed
 * envelopes so Redis moves as many bytes.
 *
 *   POST /shares ── insert shares ──▶ bare-offers ──▶ [sandbox call, insert mints] ──▶ bare-inbox
 *   bare-inbox ──▶ [sandbox call, insert imports] ──▶ bare-results ──▶ [update shares]
 */
export const QUEUES = { offers: "bare-offers", inbox: "bare-inbox", results: "bare-results" } as const;

/** The product's channel job options (attempts, backoff, bounded retention of finished jobs). */
export const JOB_OPTIONS = CHANNEL_JOB_OPTIONS;

/**
 * The product's worker concurrency defaults: partner-a's DISPATCH_CONCURRENCY (the dispatcher's batch
 * and the results consumer) and partner-b's INBOX_CONCURRENCY. Keep them equal to the services'.
 */
export const A_CONCURRENCY = 64;
export const B_CONCURRENCY = 32;

/** Padding standing in for a sealed share offer and a sealed import result (see the JSON report). */
export const OFFER_PAD = "x".repeat(1_700);
export const RESULT_PAD = "x".repeat(1_000);

/** service-kit's Redis profiles (packages/service-kit/src/redis.ts). */
export const REDIS_WORKER: RedisOptions = { maxRetriesPerRequest: null, enableReadyCheck: true };
export const REDIS_PRODUCER: RedisOptions = {
  maxRetriesPerRequest: 1,
  enableOfflineQueue: false,
  connectTimeout: 2_000,
};

export const SCHEMA_A = `
  create table if not exists shares (
    share_id uuid primary key, ref text, status text not null,
    created_at timestamptz not null default now(), updated_at timestamptz not null default now());
  create table if not exists mints (share_id uuid primary key, at timestamptz not null default now());`;

export const SCHEMA_B = `
  create table if not exists imports (share_id uuid primary key, decided_at timestamptz not null default now());`;

export function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
}
