import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  allowChecker,
  ConfigError,
  parseCidr,
  resolveConfig,
  type RawSettings,
} from "../src/server/config.ts";
import { TLS_CERT, TLS_KEY } from "./server-helpers.ts";

const resolve = (flags: RawSettings) =>
  resolveConfig({ flags: { http: "127.0.0.1:0", tcp: "127.0.0.1:0", udp: "127.0.0.1:0", ...flags } });

describe("TCP and UDP exposure: a token does not open them", () => {
  it("refuses TCP on a network address without --tls-ca or --allow, saying what to add", () => {
    assert.throws(
      () => resolve({ token: "s3cret", tcp: "0.0.0.0:9581" }),
      (err: unknown) =>
        err instanceof ConfigError &&
        /--tcp binds 0\.0\.0\.0.*TCP has no authentication/.test(err.message) &&
        err.message.includes("--tls-ca FILE") &&
        err.message.includes("--allow"),
    );
  });

  it("refuses UDP on a network address without --allow (mutual TLS does not exist for UDP)", () => {
    assert.throws(
      () =>
        resolve({
          token: "s3cret",
          udp: "[::]:9582",
          "tls-cert": TLS_CERT,
          "tls-key": TLS_KEY,
          "tls-ca": TLS_CERT,
        }),
      /--udp binds ::, which is not loopback, and UDP has no authentication: add --allow/,
    );
  });

  it("opens TCP to the network behind mutual TLS or an allow-list, UDP behind an allow-list", () => {
    const mtls = resolve({
      token: "s3cret",
      tcp: "0.0.0.0:9581",
      "tls-cert": TLS_CERT,
      "tls-key": TLS_KEY,
      "tls-ca": TLS_CERT,
    });
    assert.equal(mtls.tlsCa, TLS_CERT);
    const allowed = resolve({
      token: "s3cret",
      tcp: "0.0.0.0:9581",
      udp: "0.0.0.0:9582",
      allow: "10.0.0.0/8, ::1/128",
    });
    assert.deepEqual(allowed.allow, [
      { address: "10.0.0.0", prefix: 8, family: "ipv4" },
      { address: "::1", prefix: 128, family: "ipv6" },
    ]);
    // A config file may give a YAML list.
    const fromFile = resolveConfig({
      file: { path: "serve.yaml", settings: { allow: ["192.168.1.0/24", "10.1.2.3"] } },
    });
    assert.deepEqual(
      fromFile.allow?.map((c) => `${c.address}/${c.prefix}`),
      ["192.168.1.0/24", "10.1.2.3/32"],
    );
  });

  it("refuses --tls-ca without a server certificate, and networks that are not CIDR", () => {
    assert.throws(() => resolve({ "tls-ca": TLS_CERT }), /--tls-ca .* needs --tls-cert and --tls-key/);
    for (const bad of ["10.0.0.0/33", "example.com", "10.0.0.0/8,,", "::1/129"]) {
      assert.throws(() => resolve({ allow: bad }), /--allow: .* is not a network in CIDR notation/, bad);
    }
  });

  it("has the defaults the README gives", () => {
    const config = resolve({});
    assert.equal(config.drainTimeout, 10);
    assert.equal(config.maxConnectionsPerSource, 32);
    assert.equal(config.udpReceiveBuffer, 8 * 1024 * 1024);
    assert.equal(config.allow, undefined);
    assert.equal(config.tlsCa, undefined);
  });
});

describe("--allow checks", () => {
  it("matches IPv4, IPv6, and IPv4-mapped IPv6 remote addresses (dual-stack sockets)", () => {
    const check = allowChecker(["10.0.0.0/8", "192.168.1.0/24", "::1/128"].map((c) => parseCidr(c)!));
    assert.equal(check("10.20.30.40"), true);
    assert.equal(check("::ffff:10.20.30.40"), true);
    assert.equal(check("::FFFF:192.168.1.9"), true);
    assert.equal(check("192.168.2.1"), false);
    assert.equal(check("::ffff:127.0.0.1"), false);
    assert.equal(check("::1"), true);
    assert.equal(check("fe80::1"), false);
    assert.equal(check(undefined), false);
  });
});
