/**
 * Group commit for one hot statement: calls that arrive while earlier ones are being written wait
 * and go together in the next statement. Under load N calls cost one statement (one round trip, one
 * parse, one WAL flush) instead of N; an idle service still writes each call at once, so latency
 * at low load is unchanged.
 *
 * `write` gets the waiting items in arrival order and answers one output per item, in the same
 * order. If it throws, every call of that batch rejects with the error (callers fall back to their
 * one-at-a-time path, which reports the failure of their own item precisely).
 */
interface Waiting<I, O> {
  item: I;
  resolve: (output: O) => void;
  reject: (error: unknown) => void;
}

export class GroupCommit<I, O> {
  readonly #waiting: Waiting<I, O>[] = [];
  #inFlight = 0;

  constructor(
    private readonly write: (items: I[]) => Promise<O[]>,
    private readonly options: {
      /** Most items per statement. */
      maxBatch: number;
      /** Statements in flight at once: more than one keeps a batch stuck on a row lock from holding up all. */
      maxInFlight: number;
    },
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
    try {
      const outputs = await this.write(batch.map((entry) => entry.item));
      if (outputs.length !== batch.length) {
        throw new Error(`group commit: ${outputs.length} outputs for ${batch.length} items`);
      }
      batch.forEach((entry, index) => {
        entry.resolve(outputs[index] as O);
      });
    } catch (error) {
      for (const entry of batch) entry.reject(error);
    }
  }
}
