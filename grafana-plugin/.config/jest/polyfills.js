// Web APIs that Grafana's packages use at import time and jsdom lacks.
const { TextDecoder, TextEncoder } = require('util');

Object.assign(globalThis, { TextDecoder, TextEncoder });
