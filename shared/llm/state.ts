/**
 * The router's state in key-value store `router`: circuit breakers, latency averages, usage, budgets and the
 * response cache. Instances are per request, so everything that must outlive a request lives here.
 *
 * NOTE: Spin's key-value API has no compare-and-set, so read-modify-write updates (usage totals, breaker
 * counters) can lose an increment when two requests race on the same key. The router accepts that for totals
 * (budgets are limits, not invoices) and keeps every update to a single small key.
 *
 * @module
 */
import { z } from 'zod';
import { KeyValue } from '../spin/key-value.ts';

export const ROUTER_STORE = 'router';

export function openStore(): KeyValue {
  return KeyValue.open(ROUTER_STORE);
}

function readJson<T>(kv: KeyValue, key: string, schema: z.ZodType<T>): T | undefined {
  let raw: unknown;
  try {
    raw = kv.getJson(key);
  } catch {
    return undefined; // a corrupt value is treated as absent and overwritten by the next update
  }
  if (raw === undefined) return undefined;
  const parsed = schema.safeParse(raw);
  return parsed.success ? parsed.data : undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Circuit breaker, one per provider endpoint.

export const BreakerSchema = z.object({
  state: z.enum(['closed', 'open', 'half-open']),
  failures: z.number().int().nonnegative(),
  openedAt: z.number().optional(),
  probeAt: z.number().optional(),
  lastError: z.string().optional(),
});
export type Breaker = z.infer<typeof BreakerSchema>;

const CLOSED: Breaker = { state: 'closed', failures: 0 };

export class Breakers {
  readonly #kv: KeyValue;
  readonly #threshold: number;
  readonly #cooldownMs: number;

  constructor(kv: KeyValue, threshold: number, cooldownMs: number) {
    this.#kv = kv;
    this.#threshold = threshold;
    this.#cooldownMs = cooldownMs;
  }

  get(provider: string): Breaker {
    return readJson(this.#kv, `breaker/${provider}`, BreakerSchema) ?? CLOSED;
  }

  /**
   * Whether a request may go to this provider now. An open breaker lets one probe through after the cooldown
   * (half-open); the probe's outcome closes or re-opens it.
   */
  allow(provider: string, now = Date.now()): boolean {
    const b = this.get(provider);
    if (b.state === 'closed') return true;
    const since = b.state === 'open' ? (b.openedAt ?? 0) : (b.probeAt ?? 0);
    if (now - since < this.#cooldownMs) return false;
    // Claim the probe: others see a fresh half-open probe and keep away until it reports or times out.
    this.#kv.setJson(`breaker/${provider}`, { ...b, state: 'half-open', probeAt: now } satisfies Breaker);
    return true;
  }

  success(provider: string): void {
    const b = this.get(provider);
    if (b.state !== 'closed' || b.failures > 0) this.#kv.setJson(`breaker/${provider}`, CLOSED);
  }

  failure(provider: string, error: string, now = Date.now()): void {
    const b = this.get(provider);
    const failures = b.failures + 1;
    const open = b.state === 'half-open' || failures >= this.#threshold;
    this.#kv.setJson(`breaker/${provider}`, {
      state: open ? 'open' : 'closed',
      failures,
      ...(open ? { openedAt: now } : {}),
      lastError: error.slice(0, 300),
    } satisfies Breaker);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Latency: an exponentially weighted moving average per provider/model, for the `latency` strategy.

const LatencySchema = z.object({ ewmaMs: z.number(), samples: z.number().int() });

export function recordLatency(kv: KeyValue, target: string, ms: number): void {
  const prev = readJson(kv, `latency/${target}`, LatencySchema);
  const ewmaMs = prev ? prev.ewmaMs * 0.8 + ms * 0.2 : ms;
  kv.setJson(`latency/${target}`, { ewmaMs, samples: (prev?.samples ?? 0) + 1 });
}

export function latencyOf(kv: KeyValue, target: string): number | undefined {
  return readJson(kv, `latency/${target}`, LatencySchema)?.ewmaMs;
}

// ---------------------------------------------------------------------------------------------------------------
// Usage and budgets. Scopes are `agent:<id>` and `key:<hash>`; periods are a UTC day and month.

export const UsageSchema = z.object({
  requests: z.number().int().nonnegative(),
  promptTokens: z.number().int().nonnegative(),
  completionTokens: z.number().int().nonnegative(),
  cost: z.number().nonnegative(),
  cacheHits: z.number().int().nonnegative().default(0),
  latencyMsTotal: z.number().nonnegative().default(0),
  byModel: z
    .record(z.string(), z.object({ requests: z.number(), promptTokens: z.number(), completionTokens: z.number(), cost: z.number() }))
    .default({}),
});
export type Usage = z.infer<typeof UsageSchema>;

export const EMPTY_USAGE: Usage = {
  requests: 0,
  promptTokens: 0,
  completionTokens: 0,
  cost: 0,
  cacheHits: 0,
  latencyMsTotal: 0,
  byModel: {},
};

export function periods(now = new Date()): { day: string; month: string } {
  const iso = now.toISOString();
  return { day: iso.slice(0, 10), month: iso.slice(0, 7) };
}

export interface Charge {
  model: string;
  promptTokens: number;
  completionTokens: number;
  cost: number;
  latencyMs: number;
  cacheHit?: boolean;
}

export function getUsage(kv: KeyValue, scope: string, period: string): Usage {
  return readJson(kv, `usage/${period}/${scope}`, UsageSchema) ?? EMPTY_USAGE;
}

/** Adds a charge to every scope for the current day and month. */
export function charge(kv: KeyValue, scopes: string[], c: Charge, now = new Date()): void {
  const { day, month } = periods(now);
  for (const scope of scopes) {
    for (const period of [day, month]) {
      const u = structuredClone(getUsage(kv, scope, period));
      u.requests++;
      u.promptTokens += c.promptTokens;
      u.completionTokens += c.completionTokens;
      u.cost += c.cost;
      u.latencyMsTotal += c.latencyMs;
      if (c.cacheHit) u.cacheHits++;
      const m = (u.byModel[c.model] ??= { requests: 0, promptTokens: 0, completionTokens: 0, cost: 0 });
      m.requests++;
      m.promptTokens += c.promptTokens;
      m.completionTokens += c.completionTokens;
      m.cost += c.cost;
      kv.setJson(`usage/${period}/${scope}`, u);
    }
  }
}

/** Limits of one scope; any of them may be absent. Tokens count prompt + completion. */
export const BudgetSchema = z
  .object({
    dailyTokens: z.number().int().positive().optional(),
    monthlyTokens: z.number().int().positive().optional(),
    dailyCost: z.number().positive().optional(),
    monthlyCost: z.number().positive().optional(),
  })
  .strict();
export type Budget = z.infer<typeof BudgetSchema>;

export const SCOPE = /^(agent|key):[A-Za-z0-9._:-]{1,128}$/;

export function getBudget(kv: KeyValue, scope: string): Budget | undefined {
  return readJson(kv, `budget/${scope}`, BudgetSchema);
}

export function setBudget(kv: KeyValue, scope: string, budget: Budget): void {
  kv.setJson(`budget/${scope}`, budget);
}

export function deleteBudget(kv: KeyValue, scope: string): boolean {
  const existed = kv.exists(`budget/${scope}`);
  kv.delete(`budget/${scope}`);
  return existed;
}

export function listBudgets(kv: KeyValue): { scope: string; budget: Budget }[] {
  return kv
    .keys()
    .filter((k) => k.startsWith('budget/'))
    .sort()
    .flatMap((k) => {
      const budget = readJson(kv, k, BudgetSchema);
      return budget ? [{ scope: k.slice('budget/'.length), budget }] : [];
    });
}

/** The first exhausted limit among the scopes, described for an error message; undefined when within budget. */
export function exhausted(kv: KeyValue, scopes: string[], now = new Date()): string | undefined {
  const { day, month } = periods(now);
  for (const scope of scopes) {
    const b = getBudget(kv, scope);
    if (!b) continue;
    const d = getUsage(kv, scope, day);
    const m = getUsage(kv, scope, month);
    if (b.dailyTokens !== undefined && d.promptTokens + d.completionTokens >= b.dailyTokens)
      return `${scope} used its daily token budget (${b.dailyTokens})`;
    if (b.monthlyTokens !== undefined && m.promptTokens + m.completionTokens >= b.monthlyTokens)
      return `${scope} used its monthly token budget (${b.monthlyTokens})`;
    if (b.dailyCost !== undefined && d.cost >= b.dailyCost) return `${scope} used its daily cost budget (${b.dailyCost})`;
    if (b.monthlyCost !== undefined && m.cost >= b.monthlyCost) return `${scope} used its monthly cost budget (${b.monthlyCost})`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Exact-match response cache for deterministic requests.

const CacheEntrySchema = z.object({ expiresAt: z.number(), body: z.unknown(), target: z.string() });

export function cacheGet(kv: KeyValue, key: string, now = Date.now()): { body: unknown; target: string } | undefined {
  const e = readJson(kv, `cache/${key}`, CacheEntrySchema);
  if (!e) return undefined;
  if (e.expiresAt <= now) {
    kv.delete(`cache/${key}`);
    return undefined;
  }
  return { body: e.body, target: e.target };
}

export function cachePut(kv: KeyValue, key: string, body: unknown, target: string, ttlSeconds: number, now = Date.now()): void {
  if (ttlSeconds <= 0) return;
  kv.setJson(`cache/${key}`, { expiresAt: now + ttlSeconds * 1000, body, target });
}
