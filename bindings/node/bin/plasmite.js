#!/usr/bin/env node
'use strict';
// The `plasmite` command, run in this process by the native addon.
process.exitCode = require('../index.js').runCli('plasmite', process.argv.slice(2));
