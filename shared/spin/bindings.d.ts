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

declare module 'fermyon:spin/postgres@2.0.0' {
  export type Error =
    | { tag: 'connection-failed'; val: string }
    | { tag: 'bad-parameter'; val: string }
    | { tag: 'query-failed'; val: string }
    | { tag: 'value-conversion-failed'; val: string }
    | { tag: 'other'; val: string };
  export type ParameterValue =
    | { tag: 'boolean'; val: boolean }
    | { tag: 'int8' | 'int16' | 'int32' | 'uint8' | 'uint16' | 'uint32' | 'floating32' | 'floating64'; val: number }
    | { tag: 'int64' | 'uint64'; val: bigint }
    | { tag: 'str'; val: string }
    | { tag: 'binary'; val: Uint8Array }
    | { tag: 'db-null' };
  export type DbValue =
    | { tag: 'boolean'; val: boolean }
    | { tag: 'int8' | 'int16' | 'int32' | 'uint8' | 'uint16' | 'uint32' | 'floating32' | 'floating64'; val: number }
    | { tag: 'int64' | 'uint64'; val: bigint }
    | { tag: 'str'; val: string }
    | { tag: 'binary'; val: Uint8Array }
    | { tag: 'db-null' }
    | { tag: 'unsupported' };
  export type DbDataType =
    | 'boolean'
    | 'int8'
    | 'int16'
    | 'int32'
    | 'int64'
    | 'uint8'
    | 'uint16'
    | 'uint32'
    | 'uint64'
    | 'floating32'
    | 'floating64'
    | 'str'
    | 'binary'
    | 'other';
  export interface Column {
    name: string;
    dataType: DbDataType;
  }
  export interface RowSet {
    columns: Column[];
    rows: DbValue[][];
  }
  export class Connection {
    private constructor();
    static open(address: string): Connection;
    query(statement: string, params: ParameterValue[]): RowSet;
    execute(statement: string, params: ParameterValue[]): bigint;
  }
}

declare module 'fermyon:spin/redis@2.0.0' {
  export type Error = { tag: 'invalid-address' } | { tag: 'too-many-connections' } | { tag: 'type-error' } | { tag: 'other'; val: string };
  export type RedisParameter = { tag: 'int64'; val: bigint } | { tag: 'binary'; val: Uint8Array };
  export type RedisResult =
    { tag: 'nil' } | { tag: 'status'; val: string } | { tag: 'int64'; val: bigint } | { tag: 'binary'; val: Uint8Array };
  /** Throws `ComponentError` whose `payload` is an {@link Error}. */
  export class Connection {
    private constructor();
    static open(address: string): Connection;
    publish(channel: string, payload: Uint8Array): void;
    get(key: string): Uint8Array | undefined;
    set(key: string, value: Uint8Array): void;
    incr(key: string): bigint;
    del(keys: string[]): number;
    sadd(key: string, values: string[]): number;
    smembers(key: string): string[];
    srem(key: string, values: string[]): number;
    execute(command: string, args: RedisParameter[]): RedisResult[];
  }
}

declare module 'spin:postgres/postgres@3.0.0' {
  export type Error =
    | { tag: 'connection-failed'; val: string }
    | { tag: 'bad-parameter'; val: string }
    | { tag: 'query-failed'; val: string }
    | { tag: 'value-conversion-failed'; val: string }
    | { tag: 'other'; val: string };
  type DateTime =
    | { tag: 'date'; val: [number, number, number] }
    | { tag: 'time'; val: [number, number, number, number] }
    | { tag: 'datetime'; val: [number, number, number, number, number, number, number] }
    | { tag: 'timestamp'; val: bigint };
  export type ParameterValue =
    | DateTime
    | { tag: 'boolean'; val: boolean }
    | { tag: 'int8' | 'int16' | 'int32' | 'floating32' | 'floating64'; val: number }
    | { tag: 'int64'; val: bigint }
    | { tag: 'str'; val: string }
    | { tag: 'binary'; val: Uint8Array }
    | { tag: 'db-null' };
  export type DbValue =
    | DateTime
    | { tag: 'boolean'; val: boolean }
    | { tag: 'int8' | 'int16' | 'int32' | 'floating32' | 'floating64'; val: number }
    | { tag: 'int64'; val: bigint }
    | { tag: 'str'; val: string }
    | { tag: 'binary'; val: Uint8Array }
    | { tag: 'db-null' }
    | { tag: 'unsupported' };
  export type DbDataType =
    | 'boolean'
    | 'int8'
    | 'int16'
    | 'int32'
    | 'int64'
    | 'floating32'
    | 'floating64'
    | 'str'
    | 'binary'
    | 'date'
    | 'time'
    | 'datetime'
    | 'timestamp'
    | 'other';
  export interface RowSet {
    columns: { name: string; dataType: DbDataType }[];
    rows: DbValue[][];
  }
  /** Throws `ComponentError` whose `payload` is an {@link Error}. */
  export class Connection {
    private constructor();
    static open(address: string): Connection;
    query(statement: string, params: ParameterValue[]): RowSet;
    execute(statement: string, params: ParameterValue[]): bigint;
  }
}

// `wasi:keyvalue@0.2.0-draft2` (the WIT is in `wit/wasi-keyvalue/`). Errors are thrown as `ComponentError`s whose
// `payload` is the variant.

declare module 'wasi:keyvalue/store@0.2.0-draft2' {
  export type Error = { tag: 'no-such-store' } | { tag: 'access-denied' } | { tag: 'other'; val: string };
  export interface KeyResponse {
    keys: string[];
    cursor?: string;
  }
  export function open(identifier: string): Bucket;
  export class Bucket {
    private constructor();
    get(key: string): Uint8Array | undefined;
    set(key: string, value: Uint8Array): void;
    delete(key: string): void;
    exists(key: string): boolean;
    listKeys(cursor: string | undefined): KeyResponse;
  }
}

declare module 'wasi:keyvalue/atomics@0.2.0-draft2' {
  import type { Bucket, Error } from 'wasi:keyvalue/store@0.2.0-draft2';
  export type CasError = { tag: 'store-error'; val: Error } | { tag: 'cas-failed'; val: Cas };
  export class Cas {
    private constructor();
    // The WIT constructor is a static function named `new`, which is what the guest binding exposes.
    // oxlint-disable-next-line typescript/no-misused-new
    static new(bucket: Bucket, key: string): Cas;
    current(): Uint8Array | undefined;
  }
  export function increment(bucket: Bucket, key: string, delta: bigint): bigint;
  /** Throws `ComponentError` whose `payload` is a {@link CasError}. */
  export function swap(cas: Cas, value: Uint8Array): void;
}

declare module 'wasi:keyvalue/batch@0.2.0-draft2' {
  import type { Bucket } from 'wasi:keyvalue/store@0.2.0-draft2';
  export function getMany(bucket: Bucket, keys: string[]): [string, Uint8Array | undefined][];
  export function setMany(bucket: Bucket, keyValues: [string, Uint8Array][]): void;
  export function deleteMany(bucket: Bucket, keys: string[]): void;
}
