/**
 * @module server/inputs
 * The registry of inputs: one factory per transport. The server starts each configured one by
 * name; a new transport (a message broker) is one more entry here.
 */
import { http } from "./http.ts";
import { tcp } from "./tcp.ts";
import { udp } from "./udp.ts";

export const inputs = { http, tcp, udp };

export type InputName = keyof typeof inputs;

export type { HttpInputOptions } from "./http.ts";
export type { TcpInputOptions } from "./tcp.ts";
export type { UdpInputOptions } from "./udp.ts";
export type { Input, InputFactory, IntakeContext, ListenOptions, TlsFiles } from "./input.ts";
