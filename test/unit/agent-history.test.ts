import { describe, expect, it } from 'vitest';
import { boundedHistory, HISTORY_TOKEN_BUDGET, type Turn } from '../../shared/agents/runtime.ts';

const turn = (role: Turn['role'], content: string): Turn => ({ role, content, at: '2026-01-01T00:00:00.000Z' });

describe('boundedHistory', () => {
  it('keeps a short conversation whole', () => {
    const turns = [turn('user', 'Hi.'), turn('assistant', 'Hello.')];
    expect(boundedHistory(turns)).toEqual({ summary: undefined, recent: turns });
  });

  it('summarises the turns that do not fit, oldest first, keeping the recent ones verbatim', () => {
    const long = (n: number) => `Topic ${n} starts here. ${'detail '.repeat(600)}`;
    const turns = [
      turn('user', long(1)),
      turn('assistant', 'Noted topic one.'),
      turn('user', long(2)),
      turn('assistant', 'Noted two.'),
      turn('user', long(3)),
    ];
    // Each long turn is ~605 tokens: with a budget of 620 only the last exchange fits.
    const { summary, recent } = boundedHistory(turns, 620);
    expect(recent).toEqual(turns.slice(-2));
    expect(summary).toBe(
      [
        'Summary of 3 earlier turns of this conversation:',
        'user: Topic 1 starts here.',
        'assistant: Noted topic one.',
        'user: Topic 2 starts here.',
      ].join('\n'),
    );
  });

  it('bounds the summary too, dropping the oldest lines first', () => {
    const turns = Array.from({ length: 400 }, (_, i) =>
      turn(i % 2 ? 'assistant' : 'user', `Sentence number ${i} with a few words. ${'x '.repeat(20)}`),
    );
    const { summary, recent } = boundedHistory(turns);
    expect(recent.length).toBeGreaterThan(0);
    expect(recent.length).toBeLessThan(turns.length);
    expect(summary).toMatch(/^Summary of \d+ earlier turns of this conversation \(the \d+ oldest omitted\):/);
    expect(summary).toContain(`Sentence number ${turns.length - recent.length - 1} `);
    expect(summary).not.toContain('Sentence number 0 ');
    expect(HISTORY_TOKEN_BUDGET).toBeGreaterThan(0);
  });
});
