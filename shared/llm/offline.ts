/**
 * The built-in offline provider: answers inside the component when no model server is configured or reachable.
 *
 * It does not pretend to be a language model. Chat answers are marked `[offline]` and are either sentences quoted
 * from the conversation (the context an agent put into the prompt, tool results, earlier turns) that best match
 * the last user question, or a short note that no model is configured. Embeddings are hashed lexical features, so
 * texts that share words and spelling are close, which is enough for retrieval demos and tests. Everything is a
 * pure function of the input.
 *
 * @module
 */
import type { ChatCompletionRequest, ChatMessage } from '../protocol/openai.ts';

/** The model id the offline provider answers as. */
export const OFFLINE_MODEL = 'builtin/offline';
/** Embedding size when the request has no `dimensions`. */
export const OFFLINE_EMBEDDING_DIMENSIONS = 384;

// Letters and digits of the common scripts, spelled out because StarlingMonkey is built without ICU and rejects
// Unicode property escapes (`\p{L}`) when the component is initialised. Everything else that is not whitespace
// (punctuation, symbols, emoji) counts as a character of its own.
const ALNUM =
  '0-9A-Za-z_\u00AA\u00B2\u00B3\u00B5\u00B9\u00BA\u00BC-\u00BE\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u02AF\u0300-\u036F' +
  '\u0370-\u0373\u0376\u0377\u037B-\u037D\u0386\u0388-\u03FF\u0400-\u0481\u048A-\u052F\u0531-\u0556\u0561-\u0587' +
  '\u05D0-\u05EA\u0620-\u064A\u0660-\u0669\u066E-\u06D3\u06F0-\u06FF\u0900-\u0963\u0966-\u0DFF\u0E01-\u0E3A' +
  '\u0E40-\u0E4E\u0E50-\u0E59\u10A0-\u10FF\u1100-\u11FF\u1E00-\u1FFF\u3041-\u3096\u30A1-\u30FA\u30FC-\u30FF' +
  '\u3400-\u4DBF\u4E00-\u9FFF\uAC00-\uD7A3\uF900-\uFAFF\uFF10-\uFF19\uFF21-\uFF3A\uFF41-\uFF5A';
// A "token" is a run of letters/digits/underscore or one other non-space character. A piece is one token with the
// whitespace before it, so the pieces of a text concatenate back to it exactly.
const TOKEN = new RegExp(`[${ALNUM}]+|[^\\s${ALNUM}]`, 'gu');
const PIECE = new RegExp(`\\s*(?:[${ALNUM}]+|[^\\s${ALNUM}])`, 'gu');
const WORD = new RegExp(`[${ALNUM}]+`, 'gu');
const HAS_ALNUM = new RegExp(`[${ALNUM}]`, 'u');

/** Deterministic token-count approximation: runs of letters/digits/underscore plus each other non-space character. */
export function approxTokenCount(text: string): number {
  return text.match(TOKEN)?.length ?? 0;
}

/** Splits an answer into stream pieces of one approximate token each; `offlineChunks(s).join('') === s`. */
export function offlineChunks(content: string): string[] {
  const out: string[] = content.match(PIECE) ?? [];
  const rest = content.slice(out.join('').length); // only trailing whitespace can be left over
  if (rest) out.push((out.pop() ?? '') + rest);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------------
// Embeddings

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** +1 or -1 from a remix of the hash, so the sign is independent of the bucket and collisions tend to cancel. */
const signOf = (h: number): number => (Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 31 ? -1 : 1);

const LIGATURES = ['ff', 'fi', 'fl', 'ffi', 'ffl', 'st', 'st']; // U+FB00..U+FB06

/**
 * Lower-cased NFKC. StarlingMonkey is built without ICU and has no `String.prototype.normalize`; there the most
 * common compatibility characters (full-width forms, ligatures) are folded by hand, so a text only embeds
 * differently in the guest and in Node when it has rarer ones (superscripts, decomposed accents, …).
 */
const fold: (text: string) => string =
  typeof String.prototype.normalize === 'function'
    ? (text) => text.normalize('NFKC').toLowerCase()
    : (text) =>
        text
          .replace(/[\uFF01-\uFF5E]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0))
          .replace(/[\uFB00-\uFB06]/g, (c) => LIGATURES[c.charCodeAt(0) - 0xfb00] ?? c)
          .toLowerCase();

const words = (text: string): string[] => fold(text).match(WORD) ?? [];

/**
 * A deterministic, L2-normalised lexical embedding: signed feature hashing (FNV-1a) of lower-cased, NFKC-normalised
 * word unigrams and bigrams (weight 1) and character trigrams of the whitespace-collapsed text (weight 0.5).
 */
export function offlineEmbedding(text: string, dimensions: number = OFFLINE_EMBEDDING_DIMENSIONS): Float32Array {
  if (!Number.isInteger(dimensions) || dimensions < 1) throw new RangeError(`dimensions must be a positive integer, got ${dimensions}`);
  const v = new Float64Array(dimensions);
  const add = (feature: string, weight: number): void => {
    const h = fnv1a(feature);
    v[h % dimensions]! += signOf(h) * weight;
  };
  const ws = words(text);
  ws.forEach((w, i) => {
    add(`w:${w}`, 1);
    if (i > 0) add(`b:${ws[i - 1]} ${w}`, 1);
  });
  const padded = ` ${fold(text).replace(/\s+/g, ' ').trim()} `;
  for (let i = 0; i + 3 <= padded.length; i++) add(`c:${padded.slice(i, i + 3)}`, 0.5);
  let sum = 0;
  for (const x of v) sum += x * x;
  const norm = Math.sqrt(sum);
  if (norm === 0) v[0] = 1; // no features (empty or whitespace): any fixed unit vector will do
  return Float32Array.from(v, (x) => (norm === 0 ? x : x / norm));
}

/** Cosine similarity; 0 when either vector is all zeros. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`vectors differ in length: ${a.length} vs ${b.length}`);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

// ---------------------------------------------------------------------------------------------------------------------
// Chat

// Words that carry no topic: without this list every question would "match" every sentence through "the" or "is".
const STOP_WORDS = new Set(
  (
    'a an and are as at be been but by can could did do does for from had has have how i if in into is it its me my ' +
    'of on or our please should so tell than that the their them then there these they this those to us was we were ' +
    'what when where which who whom whose why will with would you your about any some give know question context ' +
    'answer using use based following below above'
  ).split(' '),
);

const contentWords = (text: string): string[] => words(text).filter((w) => !STOP_WORDS.has(w));

/** Sparse hashed features of content words: unigrams and bigrams (1), character trigrams (0.5). */
function contentFeatures(content: readonly string[]): Map<number, number> {
  const out = new Map<number, number>();
  const add = (feature: string, weight: number): void => {
    const h = fnv1a(feature);
    out.set(h, (out.get(h) ?? 0) + weight);
  };
  content.forEach((w, i) => {
    add(`w:${w}`, 1);
    if (i > 0) add(`b:${content[i - 1]} ${w}`, 1);
    // Trigrams of each word (not of the sentence) let "towers" match "tower" without stop words sneaking back in.
    const padded = ` ${w} `;
    for (let j = 0; j + 3 <= padded.length; j++) add(`c:${padded.slice(j, j + 3)}`, 0.5);
  });
  return out;
}

function sparseCosine(a: Map<number, number>, b: Map<number, number>): number {
  let dot = 0;
  for (const [k, x] of a) dot += x * (b.get(k) ?? 0);
  if (dot === 0) return 0;
  const norm = (m: Map<number, number>): number => Math.sqrt([...m.values()].reduce((s, x) => s + x * x, 0));
  return dot / (norm(a) * norm(b));
}

/** The text of a message's content; non-text parts (images, audio, files) are left out. */
function messageText(m: ChatMessage): string {
  const c = m.content;
  if (typeof c === 'string') return c;
  if (!c) return '';
  return c.map((part) => (part.type === 'text' ? part.text : '')).join('\n');
}

const MAX_SENTENCE_CHARS = 400;

/** Lines, then sentences: a terminator and space not followed by a lower-case letter (so "e.g. x" stays whole). */
function sentences(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split(/\r\n|\r|\n/)) {
    for (let s of line.split(/(?<=[.!?])\s+(?![a-z\u00DF-\u00F6\u00F8-\u00FF])|(?<=[\u3002\uFF01\uFF1F])\s*/)) {
      s = s.replace(/^\s*(?:[-*•]|\d+[.)])\s+/u, '').trim(); // list markers are layout, not content
      if (!HAS_ALNUM.test(s)) continue;
      out.push(s.length > MAX_SENTENCE_CHARS ? `${s.slice(0, MAX_SENTENCE_CHARS - 1)}…` : s);
    }
  }
  return out;
}

// A sentence must share real content with the question; below this it is noise from a trigram or two.
const MIN_SCORE = 0.2;
// Also quote runners-up that are nearly as relevant as the best sentence (context often spans two sentences).
const RELATIVE_SCORE = 0.6;
const MAX_QUOTED = 3;

/** The question to answer and the sentences that may answer it. */
function questionAndContext(messages: readonly ChatMessage[]): { question: string | undefined; context: string[] } {
  let last = -1;
  for (let i = messages.length - 1; i >= 0 && last < 0; i--) if (messages[i]?.role === 'user') last = i;
  const context: string[] = [];
  let question: string | undefined;
  messages.forEach((m, i) => {
    const text = messageText(m);
    // Earlier offline answers only repeat quotes; quoting them again would stack "[offline]" prefixes.
    if (m.role === 'assistant' && text.startsWith('[offline]')) return;
    if (i !== last) {
      context.push(...sentences(text));
      return;
    }
    // A RAG prompt often puts the passages and the question into one user message: the last sentence that asks
    // something is the question, the rest is context.
    const own = sentences(text);
    const q = own.findLastIndex((s) => /[?\uFF1F]$/.test(s));
    if (q < 0 || own.length === 1) question = text.replace(/\s+/g, ' ').trim();
    else {
      question = own[q];
      context.push(...own.filter((_, j) => j !== q));
    }
  });
  return { question, context };
}

/** The most relevant context sentences for the question, in conversation order. */
function extract(question: string, context: readonly string[]): string[] {
  const qWords = contentWords(question);
  if (qWords.length === 0) return [];
  const q = contentFeatures(qWords);
  const asked = new Set(qWords);
  const seen = new Set<string>();
  const scored: { index: number; text: string; score: number }[] = [];
  context.forEach((text, index) => {
    const key = text.toLowerCase();
    const own = contentWords(text);
    // Questions and restatements of the question ("Tell me about X") cannot answer it: they add no new word.
    if (seen.has(key) || /[?\uFF1F]$/.test(text) || own.every((w) => asked.has(w))) return;
    seen.add(key);
    const score = sparseCosine(q, contentFeatures(own));
    if (score >= MIN_SCORE) scored.push({ index, text, score });
  });
  const best = scored.reduce((max, s) => Math.max(max, s.score), 0);
  return scored
    .filter((s) => s.score >= best * RELATIVE_SCORE)
    .sort((a, b) => b.score - a.score || a.index - b.index)
    .slice(0, MAX_QUOTED)
    .sort((a, b) => a.index - b.index)
    .map((s) => s.text);
}

const quoteShort = (s: string): string => (s.length > 80 ? `${s.slice(0, 79)}…` : s);

/** The untruncated answer. */
function offlineAnswer(request: ChatCompletionRequest): string {
  const { question, context } = questionAndContext(request.messages);
  if (question === undefined || question === '') {
    return '[offline] No language model is configured; the built-in offline provider can only quote the conversation, and it has no user question to answer.';
  }
  const quoted = extract(question, context);
  if (quoted.length > 0) return `[offline] ${quoted.join(' ')}`;
  return `[offline] No language model is configured; the built-in offline provider can only quote the conversation, and nothing in it answers "${quoteShort(question)}".`;
}

/** Prompt tokens like an OpenAI server counts them, roughly: 3 for priming, 3 per message plus its text and tool calls. */
function promptTokens(request: ChatCompletionRequest): number {
  let n = 3 + (request.tools ? approxTokenCount(JSON.stringify(request.tools)) : 0);
  for (const m of request.messages) {
    n += 3 + approxTokenCount(messageText(m));
    if (m.role === 'assistant')
      for (const c of m.tool_calls ?? []) n += approxTokenCount(c.function.name) + approxTokenCount(c.function.arguments);
  }
  return n;
}

/** Cuts at the first stop sequence, which OpenAI leaves out of the answer. */
function applyStop(content: string, stop: string | string[] | null | undefined): string {
  const stops = (typeof stop === 'string' ? [stop] : (stop ?? [])).filter((s) => s !== '');
  const cut = Math.min(...stops.map((s) => content.indexOf(s)).filter((i) => i >= 0));
  return Number.isFinite(cut) ? content.slice(0, cut) : content;
}

/**
 * Answers a chat request offline (see the module doc). Honours `stop` and `max_completion_tokens`/`max_tokens`
 * (truncating, with finish reason `length`); never calls tools.
 */
export function offlineChat(request: ChatCompletionRequest): {
  content: string;
  finishReason: 'stop' | 'length';
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
} {
  let content = applyStop(offlineAnswer(request), request.stop);
  let finishReason: 'stop' | 'length' = 'stop';
  const limit = request.max_completion_tokens ?? request.max_tokens;
  if (limit != null && approxTokenCount(content) > limit) {
    content = offlineChunks(content).slice(0, limit).join('');
    finishReason = 'length';
  }
  const prompt_tokens = promptTokens(request);
  const completion_tokens = approxTokenCount(content);
  return { content, finishReason, usage: { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens } };
}
