/**
 * @module pipeline/workers
 * Runners for the pieces of work a run hands out: a fixed pool of worker threads, or the same work
 * inline (tests, tiny inputs). Tasks go round-robin and each resolves on its own; the caller keeps
 * them in order. A failing worker fails every task, so a run ends with an error instead of
 * waiting forever.
 */
import { Worker } from "node:worker_threads";
import { processTask, type Batch, type ProcessSettings, type Task } from "./step.ts";

export interface TaskRunner {
  /** How many tasks it can work on at once. */
  readonly size: number;
  /** `lines` bytes may be transferred to another thread: the caller must not reuse them. */
  run(task: Task): Promise<Batch>;
  close(): Promise<void>;
}

export type WorkerRequest = Task & { id: number };
export type WorkerReply = { id: number; batch: Batch } | { id: number; error: string };

/** Runs tasks in this thread: the worker path's ordering and numbering without the threads. */
export function inlineRunner(settings: ProcessSettings): TaskRunner {
  return {
    size: 1,
    run: async (task) => processTask(task, settings),
    close: async () => {},
  };
}

// `.ts` when run from the sources through tsx, `.js` from dist/.
const FROM_SOURCES = import.meta.url.endsWith(".ts");
const WORKER_URL = new URL(`./worker${FROM_SOURCES ? ".ts" : ".js"}`, import.meta.url);

/**
 * From the sources, the worker must load TypeScript. Node 20 does not apply the parent's
 * `--import tsx` hooks to a worker's entry module, so a small bootstrap registers tsx in the
 * worker first. (Only tests and development take this path; dist/ needs no tsx.)
 */
function newWorker(options: { workerData: ProcessSettings; name: string }): Worker {
  if (!FROM_SOURCES) return new Worker(WORKER_URL, options);
  const tsx = JSON.stringify(import.meta.resolve("tsx/esm/api"));
  const entry = JSON.stringify(WORKER_URL.href);
  const bootstrap = `import(${tsx}).then((tsx) => tsx.register()).then(() => import(${entry}));`;
  return new Worker(bootstrap, { ...options, eval: true });
}

interface Waiter {
  resolve: (batch: Batch) => void;
  reject: (err: Error) => void;
}

export class WorkerPool implements TaskRunner {
  readonly #workers: Worker[];
  readonly #waiting = new Map<number, Waiter>();
  #next = 0;
  #nextId = 0;
  #failure: Error | undefined;
  #closing = false;

  constructor(size: number, settings: ProcessSettings) {
    this.#workers = Array.from({ length: size }, (_, i) =>
      this.#watch(newWorker({ workerData: settings, name: `tanium-ecs-${i}` })),
    );
  }

  get size(): number {
    return this.#workers.length;
  }

  run(task: Task): Promise<Batch> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    const id = this.#nextId++;
    const worker = this.#workers[this.#next]!;
    this.#next = (this.#next + 1) % this.#workers.length;
    return new Promise<Batch>((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      const request: WorkerRequest = { ...task, id };
      // The bytes move to the worker instead of being copied.
      worker.postMessage(request, request.kind === "lines" ? [request.bytes.buffer as ArrayBuffer] : []);
    });
  }

  /** Stops every worker; tasks still out are rejected. */
  async close(): Promise<void> {
    this.#closing = true;
    this.#fail(new Error("the worker pool was closed"));
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }

  #watch(worker: Worker): Worker {
    worker.on("message", (reply: WorkerReply) => {
      const waiter = this.#waiting.get(reply.id);
      if (waiter === undefined) return;
      // A failed task fails the whole run: #fail rejects it along with every other one waiting.
      if ("error" in reply) this.#fail(new Error(`a worker thread failed: ${reply.error}`));
      else {
        this.#waiting.delete(reply.id);
        waiter.resolve(reply.batch);
      }
    });
    worker.on("error", (err) =>
      this.#fail(new Error(`a worker thread failed: ${err.message}`, { cause: err })),
    );
    worker.on("messageerror", (err) => this.#fail(new Error(`a worker thread failed: ${err.message}`)));
    worker.on("exit", (code) => {
      if (!this.#closing) this.#fail(new Error(`a worker thread exited early (code ${code})`));
    });
    return worker;
  }

  /** The first failure wins; it rejects every waiting task and every later one. */
  #fail(err: Error): void {
    this.#failure ??= err;
    const waiting = [...this.#waiting.values()];
    this.#waiting.clear();
    for (const waiter of waiting) waiter.reject(this.#failure);
  }
}
