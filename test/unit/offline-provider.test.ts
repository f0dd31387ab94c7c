import { describe, expect, it } from 'vitest';
import {
  OFFLINE_EMBEDDING_DIMENSIONS,
  OFFLINE_MODEL,
  approxTokenCount,
  cosine,
  offlineChat,
  offlineChunks,
  offlineEmbedding,
} from '../../shared/llm/offline.ts';
import { ChatCompletionRequestSchema } from '../../shared/protocol/openai.ts';
import type { ChatCompletionRequest } from '../../shared/protocol/openai.ts';

const request = (body: Record<string, unknown>): ChatCompletionRequest =>
  ChatCompletionRequestSchema.parse({ model: OFFLINE_MODEL, ...body });

const norm = (v: Float32Array): number => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

const CONTEXT = [
  'You are a helpful assistant. Answer the question using only the context below.',
  'Context:',
  '- The Golden Gate Bridge opened to traffic in 1937.',
  '- The Eiffel Tower was completed in 1889 for the World Fair in Paris.',
  '- Mount Everest is 8,849 metres tall, e.g. the highest mountain above sea level.',
  '- Photosynthesis converts light energy into chemical energy in plants.',
].join('\n');

describe('approxTokenCount and offlineChunks', () => {
  it('counts word runs and single other characters', () => {
    expect(approxTokenCount('')).toBe(0);
    expect(approxTokenCount('Hello, world!')).toBe(4);
    expect(approxTokenCount('snake_case x2 héllo wörld 世界 Привет')).toBe(6);
    expect(approxTokenCount('a+b=c 🎉')).toBe(6);
  });

  it('splits into one piece per token that join back to the text', () => {
    for (const text of ['', '  Hello, world!  ', '[offline] The Eiffel Tower was completed in 1889.\nNext line ', 'héllo 🎉 世界']) {
      const pieces = offlineChunks(text);
      expect(pieces.join('')).toBe(text);
      expect(pieces.length).toBe(approxTokenCount(text));
    }
    expect(offlineChunks('Hi, you.')).toEqual(['Hi', ',', ' you', '.']);
  });
});

describe('offlineEmbedding', () => {
  it('is deterministic, has the requested dimension and unit length', () => {
    const a = offlineEmbedding('The quick brown fox jumps over the lazy dog.');
    expect(a).toBeInstanceOf(Float32Array);
    expect(a.length).toBe(OFFLINE_EMBEDDING_DIMENSIONS);
    expect(offlineEmbedding('The quick brown fox jumps over the lazy dog.')).toEqual(a);
    expect(norm(a)).toBeCloseTo(1, 5);
    const small = offlineEmbedding('The quick brown fox', 16);
    expect(small.length).toBe(16);
    expect(norm(small)).toBeCloseTo(1, 5);
    expect(norm(offlineEmbedding('   '))).toBeCloseTo(1, 5);
    expect(() => offlineEmbedding('x', 0)).toThrow(RangeError);
    expect(() => offlineEmbedding('x', 1.5)).toThrow(RangeError);
  });

  it('ignores case, NFKC differences and whitespace layout', () => {
    expect(offlineEmbedding('ＨＥＬＬＯ ﬁne   World')).toEqual(offlineEmbedding('hello fine world'));
  });

  it('puts similar texts closer than unrelated ones', () => {
    const pairs: [anchor: string, similar: string, unrelated: string][] = [
      ['The cat sat on the mat.', 'A cat was sitting on the mat.', 'Quarterly revenue grew by ten percent.'],
      ['How do I reset my password?', 'Steps to reset a forgotten password', 'The weather in Paris is sunny today.'],
      ['Kubernetes pod restarts after OOM kill', 'Why does my Kubernetes pod get OOM killed and restart?', 'Best recipe for banana bread'],
      ['invoice payment overdue', 'The invoice payment is overdue by 30 days', 'Mountain hiking trails in the Alps'],
    ];
    for (const [anchor, similar, unrelated] of pairs) {
      const a = offlineEmbedding(anchor);
      const near = cosine(a, offlineEmbedding(similar));
      const far = cosine(a, offlineEmbedding(unrelated));
      expect(near, `${anchor} ~ ${similar}`).toBeGreaterThan(0.25);
      expect(near - far, `${anchor}: ${near} vs ${far}`).toBeGreaterThan(0.2);
    }
  });

  it('cosine handles zero vectors and rejects mismatched lengths', () => {
    expect(cosine([1, 0], [2, 0])).toBeCloseTo(1);
    expect(cosine([1, 0], [0, 0])).toBe(0);
    expect(() => cosine([1], [1, 2])).toThrow(RangeError);
  });
});

describe('offlineChat', () => {
  it('answers from the context sentence that contains the answer', () => {
    const cases: [question: string, expected: string][] = [
      ['When was the Eiffel Tower completed?', 'The Eiffel Tower was completed in 1889 for the World Fair in Paris.'],
      ['How tall is Mount Everest?', 'Mount Everest is 8,849 metres tall, e.g. the highest mountain above sea level.'],
      ['When did the Golden Gate Bridge open?', 'The Golden Gate Bridge opened to traffic in 1937.'],
    ];
    for (const [question, expected] of cases) {
      const r = offlineChat(
        request({
          messages: [
            { role: 'system', content: CONTEXT },
            { role: 'user', content: question },
          ],
        }),
      );
      expect(r.content).toBe(`[offline] ${expected}`);
      expect(r.finishReason).toBe('stop');
      expect(r.usage.completion_tokens).toBe(approxTokenCount(r.content));
      expect(r.usage.total_tokens).toBe(r.usage.prompt_tokens + r.usage.completion_tokens);
      expect(r.usage.prompt_tokens).toBeGreaterThan(approxTokenCount(CONTEXT));
    }
  });

  it('finds the answer in tool results, text parts and a RAG-style user message', () => {
    const tool = offlineChat(
      request({
        messages: [
          { role: 'user', content: 'What is the weather in Paris?' },
          {
            role: 'assistant',
            content: null,
            tool_calls: [{ id: 'c1', type: 'function', function: { name: 'weather', arguments: '{}' } }],
          },
          { role: 'tool', tool_call_id: 'c1', content: 'Berlin: rain, 12 C. Paris weather: sunny, 24 C.' },
        ],
      }),
    );
    expect(tool.content).toBe('[offline] Paris weather: sunny, 24 C.');

    const rag = offlineChat(
      request({
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'Passages:\nThe warranty covers parts for two years. Shipping is free above 50 EUR.' },
              { type: 'text', text: 'Question: How long does the warranty cover parts?' },
            ],
          },
        ],
      }),
    );
    expect(rag.content).toBe('[offline] The warranty covers parts for two years.');
  });

  it('falls back to a templated reply when nothing matches or there is no question', () => {
    const none = offlineChat(
      request({
        messages: [
          { role: 'system', content: CONTEXT },
          { role: 'user', content: 'Who won the 2022 football World Cup?' },
        ],
      }),
    );
    expect(none.content).toMatch(/^\[offline\] No language model is configured; .*"Who won the 2022 football World Cup\?"/);
    expect(offlineChat(request({ messages: [{ role: 'user', content: 'hello' }] })).content).toMatch(
      /^\[offline\] No language model is configured/,
    );
    expect(offlineChat(request({ messages: [{ role: 'system', content: CONTEXT }] })).content).toMatch(/no user question/);
  });

  it('does not quote its own earlier offline answers', () => {
    const r = offlineChat(
      request({
        messages: [
          { role: 'user', content: 'Tell me about the Eiffel Tower.' },
          { role: 'assistant', content: '[offline] The Eiffel Tower was completed in 1889.' },
          { role: 'user', content: 'When was the Eiffel Tower completed?' },
        ],
      }),
    );
    expect(r.content).not.toContain('[offline] [offline]');
    expect(r.content).toMatch(/^\[offline\] No language model/);
  });

  it('truncates to max_tokens / max_completion_tokens with finish reason length', () => {
    const messages = [
      { role: 'system', content: CONTEXT },
      { role: 'user', content: 'When was the Eiffel Tower completed?' },
    ];
    const full = offlineChat(request({ messages }));
    for (const limit of [{ max_tokens: 5 }, { max_completion_tokens: 5 }, { max_tokens: 100, max_completion_tokens: 5 }]) {
      const r = offlineChat(request({ messages, ...limit }));
      expect(r.content).toBe('[offline] The Eiffel');
      expect(r.finishReason).toBe('length');
      expect(r.usage.completion_tokens).toBe(5);
      expect(full.content.startsWith(r.content)).toBe(true);
    }
    const roomy = offlineChat(request({ messages, max_tokens: approxTokenCount(full.content) }));
    expect(roomy).toEqual(full);
  });

  it('honours stop sequences, never calls tools, and is deterministic', () => {
    const body = {
      messages: [
        { role: 'system', content: CONTEXT },
        { role: 'user', content: 'When was the Eiffel Tower completed?' },
      ],
      tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object' } } }],
      tool_choice: 'required',
    };
    const r = offlineChat(request(body));
    expect(r).toEqual(offlineChat(request(body)));
    expect(r.finishReason).toBe('stop');
    expect(Object.keys(r).sort()).toEqual(['content', 'finishReason', 'usage']);
    expect(offlineChat(request({ ...body, stop: [' in 1889', 'Tower'] })).content).toBe('[offline] The Eiffel ');
  });
});
