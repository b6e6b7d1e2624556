#!/usr/bin/env node
'use strict';
// The `pls` command, run in this process by the native addon.
process.exitCode = require('../index.js').runCli('pls', process.argv.slice(2));
