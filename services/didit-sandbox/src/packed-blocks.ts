import { emptyFeatureBlocks, type FeatureBlocks } from "./store.js";

/**
 * A session's feature blocks (its decision results), kept as JSON bytes outside the V8 heap.
 *
 * A finished KYC session's results are a few hundred small objects. With tens of thousands of
 * sessions (a benchmark, a long harness run) every major garbage collection had to mark millions of
 * them: pauses of 100–550 ms of the sandbox's only thread, during which every Didit call waited.
 * Packed, a session's results are one object to the collector (a full collection over 80,000
 * finished sessions: ~200 ms → ~30 ms), and an imported copy shares its source's bytes.
 *
 * Immutable: `unpack()` returns fresh objects the caller may change, and a change is kept by
 * packing again.
 */
export class PackedBlocks {
  readonly #json: Buffer;

  /** Every block null: a session before its flow ran. */
  static readonly none = PackedBlocks.of(emptyFeatureBlocks());

  private constructor(json: Buffer) {
    this.#json = json;
  }

  static of(blocks: FeatureBlocks): PackedBlocks {
    return new PackedBlocks(Buffer.from(JSON.stringify(blocks)));
  }

  unpack(): FeatureBlocks {
    return JSON.parse(this.#json.toString("utf8")) as FeatureBlocks;
  }
}
