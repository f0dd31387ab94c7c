/**
 * Guest-side declarations of the `fermyon:spin@2.0.0` interfaces the components import, as jco/componentize-js
 * present them to JavaScript: `result::err` arrives as a thrown `{ tag, val? }` value, `option` as `undefined`.
 * The WIT is in `wit/spin/`.
 */

declare module 'fermyon:spin/key-value@2.0.0' {
  export type Error = { tag: 'store-table-full' } | { tag: 'no-such-store' } | { tag: 'access-denied' } | { tag: 'other'; val: string };
  export class Store {
    private constructor();
    static open(label: string): Store;
    get(key: string): Uint8Array | undefined;
    set(key: string, value: Uint8Array): void;
    delete(key: string): void;
    exists(key: string): boolean;
    getKeys(): string[];
  }
}

declare module 'fermyon:spin/variables@2.0.0' {
  export type Error =
    | { tag: 'invalid-name'; val: string }
    | { tag: 'undefined'; val: string }
    | { tag: 'provider'; val: string }
    | { tag: 'other'; val: string };
  export function get(name: string): string;
}

declare module 'fermyon:spin/llm@2.0.0' {
  export type Error = { tag: 'model-not-supported' } | { tag: 'runtime-error'; val: string } | { tag: 'invalid-input'; val: string };
  export interface InferencingParams {
    maxTokens: number;
    repeatPenalty: number;
    repeatPenaltyLastNTokenCount: number;
    temperature: number;
    topK: number;
    topP: number;
  }
  export interface InferencingUsage {
    promptTokenCount: number;
    generatedTokenCount: number;
  }
  export interface InferencingResult {
    text: string;
    usage: InferencingUsage;
  }
  export interface EmbeddingsUsage {
    promptTokenCount: number;
  }
  export interface EmbeddingsResult {
    embeddings: Float32Array[];
    usage: EmbeddingsUsage;
  }
  export function infer(model: string, prompt: string, params?: InferencingParams): InferencingResult;
  export function generateEmbeddings(model: string, text: string[]): EmbeddingsResult;
}
