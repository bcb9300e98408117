import { randomUUID } from "node:crypto";

/** What a test asks the Didit API to do wrong, for requests matching a method and a path pattern. */
export interface FaultSpec {
  /** HTTP method, or "*" for any. */
  method: string;
  /** Path without query; `*` matches within one segment, `**` across segments. */
  path: string;
  /** Answer with this status instead of running the route; without it the fault only adds latency. */
  status?: number | undefined;
  /** Real milliseconds to wait before answering (or before running the route). */
  latency_ms: number;
  /** Probability in 0..1 that a matching request is affected. */
  failure_rate: number;
  /** How many times the fault applies; null for every time. */
  times: number | null;
  /** Sent as Retry-After (useful with 429). */
  retry_after_seconds?: number | undefined;
  /** Response body; DRF `{"detail": …}` by default. */
  body?: Record<string, unknown> | undefined;
}

export interface Fault extends FaultSpec {
  fault_id: string;
  applied: number;
}

function patternToRegExp(pattern: string): RegExp {
  const source = pattern
    .split(/(\*\*|\*)/)
    .map((part) => {
      if (part === "**") return ".*";
      if (part === "*") return "[^/]*";
      return part.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
    })
    .join("");
  return new RegExp(`^${source}$`);
}

/** Injected failures for the Didit API, consumed in the order they were added. */
export class FaultRegistry {
  readonly #random: () => number;
  #faults: { fault: Fault; matcher: RegExp }[] = [];

  constructor(random: () => number = Math.random) {
    this.#random = random;
  }

  add(spec: FaultSpec): Fault {
    const fault: Fault = { ...spec, method: spec.method.toUpperCase(), fault_id: randomUUID(), applied: 0 };
    this.#faults.push({ fault, matcher: patternToRegExp(spec.path) });
    return fault;
  }

  list(): Fault[] {
    return this.#faults.map(({ fault }) => ({ ...fault }));
  }

  remove(faultId: string): boolean {
    const before = this.#faults.length;
    this.#faults = this.#faults.filter(({ fault }) => fault.fault_id !== faultId);
    return this.#faults.length < before;
  }

  clear(): void {
    this.#faults = [];
  }

  /** The fault to apply to this request, if any; counts it as applied. */
  take(method: string, path: string): Fault | undefined {
    for (const { fault, matcher } of this.#faults) {
      if (fault.method !== "*" && fault.method !== method.toUpperCase()) continue;
      if (!matcher.test(path)) continue;
      if (fault.times !== null && fault.applied >= fault.times) continue;
      if (this.#random() >= fault.failure_rate) continue;
      fault.applied += 1;
      return { ...fault };
    }
    return undefined;
  }
}
