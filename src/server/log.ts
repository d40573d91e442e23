/**
 * @module server/log
 * Structured logs: pino JSON lines on stdout, written synchronously so that a line such as
 * `listening` is out before anything else happens (logs are rare: per listener, per connection
 * event, per failure, never per event).
 */
import { pino, type DestinationStream, type Logger } from "pino";

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    { name: "tanium-ecs", level, base: { pid: process.pid } },
    destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

export type { Logger };
