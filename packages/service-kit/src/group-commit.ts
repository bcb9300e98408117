/**
 * Group commit for one hot statement: calls that arrive while earlier ones are being written wait
 * and go together in the next statement. Under load N calls cost one statement (one round trip, one
 * parse, one WAL flush) instead of N; an idle service still writes each call at once, so latency
 * at low load is unchanged.
 *
 * `write` gets the waiting items in arrival order and answers one output per item, in the same
 * order. If it throws, the batch wrote nothing: `onFallback` hears of it once (so a broken batch
 * statement is seen, not only felt as lost throughput), and each of its items takes `alone`, the
 * one-at-a-time path, which answers (or fails) for its own item precisely.
 */
interface Waiting<I, O> {
  item: I;
  resolve: (output: O) => void;
  reject: (error: unknown) => void;
}

export interface GroupCommitOptions<I, O> {
  /** Most items per statement. */
  maxBatch: number;
  /** Statements in flight at once: more than one keeps a batch stuck on a row lock from holding up all. */
  maxInFlight: number;
  /** The path each item of a failed batch takes on its own. */
  alone: (item: I) => Promise<O>;
  /** Told once per failed batch, with the error and the batch's size (see BatchFallbacks.for). */
  onFallback: (error: unknown, items: number) => void;
}

/** The write answered another number of outputs than it got items: a bug in the batch statement. */
export class GroupCommitMismatch extends Error {
  readonly code = "group_commit_mismatch";

  constructor(outputs: number, items: number) {
    super(`group commit: ${outputs} outputs for ${items} items`);
    this.name = "GroupCommitMismatch";
  }
}

export class GroupCommit<I, O> {
  readonly #waiting: Waiting<I, O>[] = [];
  #inFlight = 0;

  constructor(
    private readonly write: (items: I[]) => Promise<O[]>,
    private readonly options: GroupCommitOptions<I, O>,
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.#waiting.push({ item, resolve, reject });
      this.#pump();
    });
  }

  #pump(): void {
    while (this.#inFlight < this.options.maxInFlight && this.#waiting.length > 0) {
      const batch = this.#waiting.splice(0, this.options.maxBatch);
      this.#inFlight += 1;
      this.#run(batch).finally(() => {
        this.#inFlight -= 1;
        this.#pump();
      });
    }
  }

  async #run(batch: Waiting<I, O>[]): Promise<void> {
    let outputs: O[];
    try {
      outputs = await this.write(batch.map((entry) => entry.item));
      if (outputs.length !== batch.length) throw new GroupCommitMismatch(outputs.length, batch.length);
    } catch (error) {
      // The items go their own way before the report, so nothing the report does can strand them;
      // their statements run outside this batch's slot, so the next batch need not wait for them.
      for (const entry of batch) this.#alone(entry);
      this.options.onFallback(error, batch.length);
      return;
    }
    batch.forEach((entry, index) => {
      entry.resolve(outputs[index] as O);
    });
  }

  #alone(entry: Waiting<I, O>): void {
    // A synchronous throw in `alone` becomes this item's rejection too.
    Promise.resolve()
      .then(() => this.options.alone(entry.item))
      .then(entry.resolve, entry.reject);
  }
}
