import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, readConfigFile, resolveConfig } from "../src/server/config.ts";
import { tempDir } from "./server-helpers.ts";

function withFile<T>(name: string, content: string, run: (path: string) => T): T {
  const dir = tempDir();
  try {
    const path = join(dir, name);
    writeFileSync(path, content);
    return run(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("serve config", () => {
  it("has loopback defaults that start with no setting at all", () => {
    const config = resolveConfig({});
    assert.deepEqual(config.http, { host: "127.0.0.1", port: 9580 });
    assert.deepEqual(config.tcp, { host: "127.0.0.1", port: 9581 });
    assert.deepEqual(config.udp, { host: "127.0.0.1", port: 9582 });
    assert.equal(config.data, "./tanium-data");
    assert.equal(config.token, undefined);
  });

  it("reads YAML and JSON files alike; env gives the token; flags win over both", () => {
    const yaml =
      "http: '[::1]:8080'\ntcp: off\nqueue-max: 500\ntoken: from-file\ntoken-header: X-Tanium-Token\n";
    const json =
      '{"http": "[::1]:8080", "tcp": "off", "queue-max": 500, "token": "from-file", "token-header": "X-Tanium-Token"}';
    for (const [name, content] of [
      ["a.yaml", yaml],
      ["a.json", json],
    ] as const) {
      withFile(name, content, (path) => {
        const file = { path, settings: readConfigFile(path) };
        const fromFile = resolveConfig({ file });
        assert.deepEqual(fromFile.http, { host: "::1", port: 8080 });
        assert.equal(fromFile.tcp, undefined);
        assert.equal(fromFile.queueMax, 500);
        assert.equal(fromFile.token, "from-file");
        assert.equal(fromFile.tokenHeader, "x-tanium-token");
        const layered = resolveConfig({
          file,
          env: { TANIUM_ECS_TOKEN: "from-env" },
          flags: { "queue-max": "7", tcp: "127.0.0.1:1" },
        });
        assert.equal(layered.token, "from-env");
        assert.equal(layered.queueMax, 7);
        assert.deepEqual(layered.tcp, { host: "127.0.0.1", port: 1 });
        assert.equal(
          resolveConfig({ file, env: { TANIUM_ECS_TOKEN: "e" }, flags: { token: "f" } }).token,
          "f",
        );
      });
    }
  });

  it("refuses bad values with a message naming the key and its source", () => {
    const cases: [Parameters<typeof resolveConfig>[0], RegExp][] = [
      [{ flags: { "batch-ms": "-1" } }, /^--batch-ms must be a whole number from 0 to 60000, got "-1"$/],
      [{ flags: { udp: "localhost" } }, /^--udp must be ADDRESS:PORT/],
      [{ flags: { "log-level": "loud" } }, /^--log-level must be one of/],
      [{ flags: { "token-header": "bad header" } }, /not a valid HTTP header name/],
      [
        { file: { path: "s.yaml", settings: { "max-body-bytes": 0 } } },
        /^"max-body-bytes" \(config file s\.yaml\) must be a whole number from 1/,
      ],
      [{ flags: { tcp: "10.1.2.3:9581" } }, /^--tcp binds 10\.1\.2\.3, which is not loopback/],
    ];
    for (const [sources, pattern] of cases) {
      assert.throws(
        () => resolveConfig(sources),
        (err: unknown) => err instanceof ConfigError && pattern.test(err.message),
      );
    }
    // With a token HTTP may listen on any address (TCP and UDP need more: server-tcp-exposure.test.ts).
    assert.deepEqual(resolveConfig({ flags: { http: "0.0.0.0:9580", token: "t" } }).http, {
      host: "0.0.0.0",
      port: 9580,
    });
  });

  it("refuses unknown keys and files that are not a mapping", () => {
    withFile("x.yaml", "htp: 127.0.0.1:1\n", (path) => {
      assert.throws(() => readConfigFile(path), /unknown key "htp"/);
    });
    withFile("x.json", "[1, 2]", (path) => {
      assert.throws(() => readConfigFile(path), /expected a mapping of settings, got a list/);
    });
    withFile("x.yaml", "a: [", (path) => {
      assert.throws(() => readConfigFile(path), /is not valid YAML or JSON/);
    });
  });
});
