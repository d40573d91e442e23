/**
 * Writes the JSON Schema of the config file (`schema/tanium-ecs.config.schema.json`), for
 * editors (YAML: `# yaml-language-server: $schema=…`): `npm run schema`. A test checks that the
 * shipped file is what this writes, so it never lags behind the settings.
 */
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { configJsonSchema } from "../src/server/config.ts";

const target = fileURLToPath(new URL("../schema/tanium-ecs.config.schema.json", import.meta.url));
writeFileSync(target, configJsonSchema());
console.log(`wrote ${target}`);
