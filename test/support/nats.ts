/**
 * @module test/support/nats
 * Real nats-server processes for the broker tests (the Debian package `nats-server`, which
 * `.ci/run` installs): one node, or a 3-node cluster on loopback with free ports, each node in its
 * own folder so that it can be killed with SIGKILL and restarted on the same ports and store.
 * Every process is killed when the test process exits, whatever happened.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, closeSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

const live = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

/** The nats-server binary, or a clear failure (CI installs it from Debian). */
export function natsServerBinary(): string {
  const bin = process.env.NATS_SERVER ?? "nats-server";
  const probe = spawnSync(bin, ["--version"], { encoding: "utf8" });
  if (probe.error !== undefined || probe.status !== 0) {
    throw new Error(
      `${bin} not found: the broker tests need NATS (apt-get install -y nats-server, or NATS_SERVER=/path/to/nats-server)`,
    );
  }
  return bin;
}

/** A port free on 127.0.0.1 now (the kernel's pick; a race with another process is unlikely and fails loudly). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, "close");
  return port;
}

export interface NatsNode {
  readonly name: string;
  /** nats://127.0.0.1:<client port> */
  readonly url: string;
  readonly clientPort: number;
  readonly monitorPort: number;
  /** Whether its process runs. */
  readonly running: boolean;
  /** SIGKILL, and wait for the exit. */
  kill9(): Promise<void>;
  /** Starts it again on the same ports and store; resolves once it serves JetStream. */
  restart(): Promise<void>;
}

export interface NatsCluster {
  readonly nodes: readonly NatsNode[];
  /** Every node's client URL. */
  readonly urls: readonly string[];
  readonly dir: string;
  node(name: string): NatsNode;
  /** The node leading `stream`'s replicas (from any running node's monitoring endpoint). */
  streamLeader(stream: string): Promise<NatsNode>;
  /** The node leading the consumer's replicas. */
  consumerLeader(stream: string, consumer: string): Promise<NatsNode>;
  /** Kills every node and removes the folder. */
  stop(): Promise<void>;
}

interface JszStream {
  name: string;
  cluster?: { leader?: string };
  consumer_detail?: { name: string; cluster?: { leader?: string } }[];
}
interface Jsz {
  meta_cluster?: { leader?: string; cluster_size?: number };
  account_details?: { stream_detail?: JszStream[] }[];
}

async function jsz(monitorPort: number, query = ""): Promise<Jsz | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${monitorPort}/jsz${query}`, {
      signal: AbortSignal.timeout(2000),
    });
    if (!res.ok) return undefined;
    return (await res.json()) as Jsz;
  } catch {
    return undefined;
  }
}

/**
 * Starts `size` nodes (1: a lone JetStream server; 3: a cluster named `tanium`), waits until
 * JetStream answers on each (a cluster: a meta leader elected, about 0.4 s here).
 */
export async function startNatsCluster(
  size: 1 | 3 = 3,
  options: { maxFileStore?: string } = {},
): Promise<NatsCluster> {
  const bin = natsServerBinary();
  const dir = mkdtempSync(join(tmpdir(), "tanium-ecs-nats-"));
  const ports = await Promise.all(
    Array.from({ length: size }, async () => ({
      client: await freePort(),
      monitor: await freePort(),
      route: await freePort(),
    })),
  );
  const routes = ports.map((p) => `nats-route://127.0.0.1:${p.route}`).join(", ");
  const nodes = ports.map((p, i) => {
    const name = `n${i + 1}`;
    const store = join(dir, name);
    mkdirSync(store, { recursive: true });
    const conf = join(dir, `${name}.conf`);
    writeFileSync(
      conf,
      [
        `server_name: ${name}`,
        `listen: 127.0.0.1:${p.client}`,
        `http: 127.0.0.1:${p.monitor}`,
        `jetstream { store_dir: "${store}", max_file_store: ${options.maxFileStore ?? "1GB"}, max_memory_store: 64MB }`,
        ...(size > 1 ? [`cluster { name: tanium, listen: 127.0.0.1:${p.route}, routes: [${routes}] }`] : []),
        "",
      ].join("\n"),
    );
    let child: ChildProcess | undefined;
    const start = (): void => {
      const log = openSync(join(dir, `${name}.log`), "a");
      // The binary itself, not a shell: its pid is the server's, so SIGKILL reaches it.
      child = spawn(bin, ["-c", conf], { stdio: ["ignore", log, log] });
      closeSync(log);
      live.add(child);
      child.once("exit", () => live.delete(child!));
    };
    const ready = async (): Promise<void> => {
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        const info = await jsz(p.monitor);
        if (info !== undefined && (size === 1 || info.meta_cluster?.leader !== undefined)) return;
        if (child?.exitCode !== null)
          throw new Error(`nats-server ${name} exited; see ${join(dir, `${name}.log`)}`);
        await sleep(50);
      }
      throw new Error(`nats-server ${name} did not get ready within 20 s`);
    };
    const node: NatsNode & { start(): void; ready(): Promise<void> } = {
      name,
      url: `nats://127.0.0.1:${p.client}`,
      clientPort: p.client,
      monitorPort: p.monitor,
      get running() {
        return child !== undefined && child.exitCode === null && child.signalCode === null;
      },
      async kill9() {
        if (child === undefined || !node.running) return;
        const exited = once(child, "exit");
        child.kill("SIGKILL");
        await exited;
      },
      async restart() {
        if (node.running) throw new Error(`${name} is running`);
        start();
        await ready();
      },
      start,
      ready,
    };
    return node;
  });
  for (const node of nodes) node.start();
  try {
    await Promise.all(nodes.map((node) => node.ready()));
  } catch (err) {
    for (const node of nodes) await node.kill9();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const byName = (name: string | undefined): NatsNode => {
    const found = nodes.find((n) => n.name === name);
    if (found === undefined) throw new Error(`no node named ${String(name)}`);
    return found;
  };
  const detail = async (stream: string): Promise<JszStream | undefined> => {
    for (const node of nodes) {
      if (!node.running) continue;
      const info = await jsz(node.monitorPort, "?streams=true&consumers=true");
      const found = info?.account_details
        ?.flatMap((a) => a.stream_detail ?? [])
        .find((s) => s.name === stream);
      if (found?.cluster?.leader !== undefined || (size === 1 && found !== undefined)) return found;
    }
    return undefined;
  };
  return {
    nodes,
    urls: nodes.map((n) => n.url),
    dir,
    node: byName,
    async streamLeader(stream) {
      if (size === 1) return nodes[0]!;
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        const leader = (await detail(stream))?.cluster?.leader;
        if (leader !== undefined) return byName(leader);
        await sleep(100);
      }
      throw new Error(`stream ${stream} has no leader`);
    },
    async consumerLeader(stream, consumer) {
      if (size === 1) return nodes[0]!;
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        const leader = (await detail(stream))?.consumer_detail?.find((c) => c.name === consumer)?.cluster
          ?.leader;
        if (leader !== undefined) return byName(leader);
        await sleep(100);
      }
      throw new Error(`consumer ${consumer} of ${stream} has no leader`);
    },
    async stop() {
      for (const node of nodes) await node.kill9();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
