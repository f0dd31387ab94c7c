/**
 * Workflow state in the key-value store `workflows`.
 *
 * | key              | value                                                                   |
 * | ---------------- | ----------------------------------------------------------------------- |
 * | `def/<id>`       | a stored definition ({@link DefinitionSchema}); built-ins are not stored  |
 * | `run/<id>`       | the run record with every step's checkpoint ({@link RunRecordSchema})     |
 * | `lease/<id>`     | the executor lease of a run ({@link LeaseSchema}), see lease.ts          |
 * | `cancel/<id>`    | present once a cancel was requested; executors check it between steps    |
 *
 * A run record is rewritten whole at each checkpoint, so a step's status, output and the run's cursor change in
 * one write: a reader (or a crash) never sees a step completed without the cursor moved past it.
 *
 * The lease is read and written only through compare-and-swap ({@link WorkflowStore.leaseCell}), over
 * `wasi:keyvalue/atomics` on the same store; everything else through `fermyon:spin/key-value`.
 *
 * NOTE: Spin's key-value API has no prefix scan, so listing reads every key of the store; fine for thousands of
 * runs. Records are validated on every read; one that no longer parses is a 500 `corrupt_record` for that run only.
 *
 * @module
 */
import type { KvLike } from '../agents/registry.ts';
import { HttpError } from '../http/errors.ts';
import type { AtomicKv, CasHandle } from '../spin/atomic-kv.ts';
import { DefinitionSchema, LeaseSchema, RunRecordSchema, type Definition, type Lease, type RunRecord } from '../protocol/workflows.ts';
import { BUILTIN_DEFINITIONS } from './sparc.ts';

const decoder = new TextDecoder();

/** The lease of one run as read, and the compare-and-swap that replaces it only if it is still that. */
export interface LeaseCell {
  /** `undefined` when there is no lease, or it is unreadable (either way the run is free). */
  readonly lease: Lease | undefined;
  swap(next: Lease): { swapped: true } | { swapped: false; fresh: LeaseCell };
}

function parseLease(raw: Uint8Array | undefined): Lease | undefined {
  if (raw === undefined) return undefined;
  try {
    const parsed = LeaseSchema.safeParse(JSON.parse(decoder.decode(raw)));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function leaseCell(handle: CasHandle): LeaseCell {
  return {
    lease: parseLease(handle.current),
    swap(next) {
      const r = handle.swap(JSON.stringify(next));
      return r.swapped ? r : { swapped: false, fresh: leaseCell(r.fresh) };
    },
  };
}

export class WorkflowStore {
  readonly #kv: () => KvLike;
  readonly #atomic: () => AtomicKv;

  /** Both open the same store on first use (each open is a host call): `kv` for records, `atomic` for leases. */
  constructor(kv: () => KvLike, atomic: () => AtomicKv) {
    this.#kv = kv;
    this.#atomic = atomic;
  }

  #json(key: string): unknown {
    const raw = this.#kv().get(key);
    if (raw === undefined) return undefined;
    try {
      return JSON.parse(decoder.decode(raw)) as unknown;
    } catch {
      return Symbol.for('corrupt');
    }
  }

  #write(key: string, value: unknown): void {
    this.#kv().set(key, JSON.stringify(value));
  }

  getDefinition(id: string): Definition | undefined {
    const builtin = BUILTIN_DEFINITIONS.get(id);
    if (builtin) return builtin;
    const raw = this.#json(`def/${id}`);
    if (raw === undefined) return undefined;
    const parsed = DefinitionSchema.safeParse(raw);
    if (!parsed.success)
      throw new HttpError(500, 'corrupt_record', `the stored definition ${id} is unreadable; delete it and create it again`);
    return parsed.data;
  }

  /** Built-ins first, then stored definitions by id; unreadable ones are skipped. */
  listDefinitions(): Definition[] {
    const stored: Definition[] = [];
    for (const key of this.#kv().keys()) {
      if (!key.startsWith('def/')) continue;
      const parsed = DefinitionSchema.safeParse(this.#json(key));
      if (parsed.success) stored.push(parsed.data);
    }
    stored.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return [...BUILTIN_DEFINITIONS.values(), ...stored];
  }

  putDefinition(def: Definition): void {
    this.#write(`def/${def.id}`, def);
  }

  /** False when there was no such stored definition. */
  deleteDefinition(id: string): boolean {
    const kv = this.#kv();
    if (!kv.exists(`def/${id}`)) return false;
    kv.delete(`def/${id}`);
    return true;
  }

  getRun(id: string): RunRecord | undefined {
    const raw = this.#json(`run/${id}`);
    if (raw === undefined) return undefined;
    const parsed = RunRecordSchema.safeParse(raw);
    if (!parsed.success) throw new HttpError(500, 'corrupt_record', `the stored record of run ${id} is unreadable`);
    return parsed.data;
  }

  putRun(run: RunRecord): void {
    this.#write(`run/${run.id}`, run);
  }

  /** Every readable run, and the keys of unreadable ones. */
  listRuns(): { runs: RunRecord[]; corrupt: string[] } {
    const runs: RunRecord[] = [];
    const corrupt: string[] = [];
    for (const key of this.#kv().keys()) {
      if (!key.startsWith('run/')) continue;
      const parsed = RunRecordSchema.safeParse(this.#json(key));
      if (parsed.success) runs.push(parsed.data);
      else corrupt.push(key);
    }
    return { runs, corrupt };
  }

  getLease(id: string): Lease | undefined {
    return parseLease(this.#atomic().get(`lease/${id}`));
  }

  /** Reads the lease for a compare-and-swap (see lease.ts). */
  leaseCell(id: string): LeaseCell {
    return leaseCell(this.#atomic().cas(`lease/${id}`));
  }

  cancelRequested(id: string): boolean {
    return this.#kv().exists(`cancel/${id}`);
  }

  requestCancel(id: string, at: string): void {
    this.#write(`cancel/${id}`, { at });
  }
}
