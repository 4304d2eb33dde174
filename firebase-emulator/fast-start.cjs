// Preloaded (`node --require`) into firebase-tools' `emulators:start --only auth`: the same emulator, started
// in ~2 s of CPU instead of ~12. Its API is unchanged: every request is validated as before.
// Resolved from firebase-tools' own files, so a firebase-tools that moves them fails at start, named.
const { dirname } = require("node:path");

const authServer = require.resolve("firebase-tools/lib/emulator/auth/server.js");
const configValidate = require.resolve("firebase-tools/lib/firebaseConfigValidate.js");

// ~80% of the start: the Auth API's OpenAPI document is compiled into one ajv validator per parameter, body
// and response of every operation. exegesis's own option for this (documented as "compilation is slow")
// compiles each on its first use instead: an operation's first call takes ~0.1-0.5 s more, once.
const exegesisOptions = require(require.resolve("exegesis/lib/options", { paths: [dirname(authServer)] }));
const compileOptions = exegesisOptions.compileOptions;
exegesisOptions.compileOptions = (options = {}) =>
  compileOptions({ lazyCompileValidationSchemas: true, ...options });

// ~0.5 s: firebase.json is checked against the CLI's whole config schema, and the outcome only ever goes to
// the debug log. Ours is checked by devstack's tests instead (test_firebase_emulator.py).
const validate = require(configValidate);
validate.getValidator = () => Object.assign(() => true, { errors: null });
