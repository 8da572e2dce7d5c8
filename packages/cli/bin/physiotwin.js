#!/usr/bin/env node
// Committed, executable launcher: tsc output is not executable, and npm links bins before the build runs.
import '../dist/main.js';
