import pg from "pg";
import { JsonClient } from "./http.js";
import { type Launch, type RunningProcess, type ServiceName, startService } from "./services.js";
import { API_KEYS, apps, type BenchWorld, CONTROL_KEY } from "./world.js";

/** The product under measurement: sandbox, partner-a and partner-b from their builds, and clients. */
export class ProductStack {
  readonly partnerA: JsonClient;
  readonly sandboxControl: JsonClient;
  /** The sandbox's Didit API as partner-a's application (to create users' sessions). */
  readonly sandboxAsA: JsonClient;
  /** The sandbox's Didit API as partner-b's application (to list its imported copies). */
  readonly sandboxAsB: JsonClient;
  readonly dbA: pg.Pool;
  readonly dbB: pg.Pool;
  /** Every partner-b lifetime (it is restarted for the backlog), for the report's warning counts. */
  readonly retired: RunningProcess[] = [];

  private constructor(
    private readonly world: BenchWorld,
    private readonly launch: Launch,
    public processes: Record<ServiceName, RunningProcess>,
  ) {
    this.partnerA = new JsonClient(`http://127.0.0.1:${world.ports["partner-a"]}`, {
      authorization: `Bearer ${API_KEYS["partner-a"]}`,
    });
    const sandbox = `http://127.0.0.1:${world.ports.sandbox}`;
    this.sandboxControl = new JsonClient(sandbox, { authorization: `Bearer ${CONTROL_KEY}` });
    this.sandboxAsA = new JsonClient(sandbox, { "x-api-key": apps["partner-a"].apiKey });
    this.sandboxAsB = new JsonClient(sandbox, { "x-api-key": apps["partner-b"].apiKey }, 4);
    this.dbA = new pg.Pool({ connectionString: world.databases.a, max: 3 });
    this.dbB = new pg.Pool({ connectionString: world.databases.b, max: 3 });
  }

  static async start(world: BenchWorld, launch: Launch): Promise<ProductStack> {
    const start = (name: ServiceName) =>
      startService(world, name, { nodeArgs: launch.nodeArgs(name), gc: launch.gc });
    const sandbox = await start("didit-sandbox");
    const [a, b] = await Promise.all([start("partner-a"), start("partner-b")]);
    return new ProductStack(world, launch, { "didit-sandbox": sandbox, "partner-a": a, "partner-b": b });
  }

  async stopPartnerB(): Promise<void> {
    const stopped = await this.processes["partner-b"].stop();
    if (stopped.code !== 0) {
      throw new Error(
        `partner-b stopped with ${JSON.stringify(stopped)}:\n${this.processes["partner-b"].tail()}`,
      );
    }
    this.retired.push(this.processes["partner-b"]);
  }

  async startPartnerB(): Promise<void> {
    this.processes["partner-b"] = await startService(this.world, "partner-b", {
      nodeArgs: this.launch.nodeArgs("partner-b"),
      gc: this.launch.gc,
    });
  }

  /** Lines the services wrote at LOG_LEVEL=warn: warnings and errors seen during the run. */
  warnings(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const process of [...this.retired, ...Object.values(this.processes)]) {
      counts[process.name] = (counts[process.name] ?? 0) + process.lines();
    }
    return counts;
  }

  /** Stops B, A, then the sandbox (graceful; --cpu-prof writes its profile on the way out). */
  async stop(): Promise<void> {
    await Promise.all(
      [this.partnerA, this.sandboxControl, this.sandboxAsA, this.sandboxAsB].map((client) => client.close()),
    );
    for (const name of ["partner-b", "partner-a", "didit-sandbox"] as const) {
      await this.processes[name].stop();
    }
    await Promise.all([this.dbA.end(), this.dbB.end()]);
  }
}
