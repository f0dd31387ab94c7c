/**
 * The LLM router's configuration, read from Spin variables on every request (variables are cheap, and a change
 * of runtime config then applies without a restart).
 *
 * - `localai_url`: the local OpenAI-compatible server (LocalAI, Ollama, vLLM, …).
 * - `cloud_llm_url` + `cloud_llm_api_key`: the cloud fallback, used only when a key is set.
 * - `model_map`: JSON, alias → ordered candidates `{ provider, model, inputPer1k?, outputPer1k?, contextWindow? }`.
 * - `route_strategy`: `local-first` (default), `cost` or `latency`; a request may override it with a header.
 *
 * @module
 */
import { z } from 'zod';
import { variable } from '../spin/variables.ts';

export const PROVIDERS = ['local', 'cloud', 'builtin'] as const;
export type ProviderName = (typeof PROVIDERS)[number];

export const STRATEGIES = ['local-first', 'cost', 'latency'] as const;
export type Strategy = (typeof STRATEGIES)[number];

export const CandidateSchema = z.object({
  provider: z.enum(PROVIDERS),
  model: z.string().min(1),
  /** Price in the account's currency per 1,000 prompt tokens. */
  inputPer1k: z.number().nonnegative().default(0),
  /** Price per 1,000 completion tokens. */
  outputPer1k: z.number().nonnegative().default(0),
  contextWindow: z.number().int().positive().default(8192),
});
export type Candidate = z.infer<typeof CandidateSchema>;

export const ModelMapSchema = z.record(
  z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'aliases are lower-case slugs'),
  z.array(CandidateSchema).min(1),
);
export type ModelMap = z.infer<typeof ModelMapSchema>;

/** Used when `model_map` is empty: local models first, then a cheap cloud model; the offline provider is implicit. */
export const DEFAULT_MODEL_MAP: ModelMap = ModelMapSchema.parse({
  chat: [
    { provider: 'local', model: 'llama-3.2-1b-instruct', contextWindow: 8192 },
    { provider: 'cloud', model: 'gpt-4o-mini', inputPer1k: 0.00015, outputPer1k: 0.0006, contextWindow: 128000 },
  ],
  coder: [
    { provider: 'local', model: 'qwen2.5-coder-1.5b-instruct', contextWindow: 8192 },
    { provider: 'cloud', model: 'gpt-4o-mini', inputPer1k: 0.00015, outputPer1k: 0.0006, contextWindow: 128000 },
  ],
  embed: [
    { provider: 'local', model: 'all-minilm-l6-v2', contextWindow: 512 },
    { provider: 'cloud', model: 'text-embedding-3-small', inputPer1k: 0.00002, contextWindow: 8191 },
  ],
});

export interface RouterConfig {
  localUrl: string | undefined;
  cloudUrl: string | undefined;
  cloudApiKey: string | undefined;
  modelMap: ModelMap;
  strategy: Strategy;
  /** Attempts per candidate after the first, for retryable failures. */
  maxRetries: number;
  retryBaseMs: number;
  timeoutMs: number;
  breakerFailures: number;
  breakerCooldownMs: number;
  cacheTtlSeconds: number;
  maxRequestBytes: number;
  /** Answer with the built-in provider when every candidate failed. */
  offlineFallback: boolean;
}

/** A configuration error: the operator set a variable to something unusable. */
export class ConfigError extends Error {}

function num(name: string, fallback: number, min = 0): number {
  const raw = variable(name);
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) throw new ConfigError(`variable ${name} must be a number ≥ ${min}, got ${JSON.stringify(raw)}`);
  return n;
}

function url(name: string): string | undefined {
  const raw = variable(name)?.trim();
  if (!raw) return undefined;
  try {
    const u = new URL(raw);
    return u.toString().replace(/\/+$/, '');
  } catch {
    throw new ConfigError(`variable ${name} must be an absolute URL, got ${JSON.stringify(raw)}`);
  }
}

export function loadConfig(): RouterConfig {
  const rawMap = variable('model_map')?.trim();
  let modelMap = DEFAULT_MODEL_MAP;
  if (rawMap) {
    let json: unknown;
    try {
      json = JSON.parse(rawMap);
    } catch (err) {
      throw new ConfigError(`variable model_map is not JSON: ${err instanceof Error ? err.message : String(err)}`);
    }
    const parsed = ModelMapSchema.safeParse(json);
    if (!parsed.success)
      throw new ConfigError(
        `variable model_map is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      );
    modelMap = parsed.data;
  }
  const strategy = (variable('route_strategy')?.trim() || 'local-first') as Strategy;
  if (!STRATEGIES.includes(strategy)) throw new ConfigError(`variable route_strategy must be one of ${STRATEGIES.join(', ')}`);
  const offline = variable('offline_fallback')?.trim().toLowerCase();
  return {
    localUrl: url('localai_url'),
    cloudUrl: url('cloud_llm_url'),
    cloudApiKey: variable('cloud_llm_api_key')?.trim() || undefined,
    modelMap,
    strategy,
    maxRetries: num('max_retries', 1),
    retryBaseMs: num('retry_base_ms', 100),
    timeoutMs: num('request_timeout_ms', 120_000, 1),
    breakerFailures: num('breaker_failures', 3, 1),
    breakerCooldownMs: num('breaker_cooldown_ms', 30_000),
    cacheTtlSeconds: num('cache_ttl_seconds', 300),
    maxRequestBytes: num('max_request_bytes', 4 * 1024 * 1024, 1024),
    offlineFallback: offline === undefined || offline === '' ? true : offline === 'true',
  };
}

/** Whether a provider can be called at all with this configuration. */
export function providerEnabled(config: RouterConfig, provider: ProviderName): boolean {
  if (provider === 'builtin') return true;
  if (provider === 'local') return config.localUrl !== undefined;
  return config.cloudUrl !== undefined && config.cloudApiKey !== undefined;
}

/** A candidate's price for a number of prompt and completion tokens. */
export function price(c: Candidate, promptTokens: number, completionTokens: number): number {
  return (promptTokens / 1000) * c.inputPer1k + (completionTokens / 1000) * c.outputPer1k;
}

export function isFree(c: Candidate): boolean {
  return c.inputPer1k === 0 && c.outputPer1k === 0;
}
