// Starts the afdsl language server (`afdsl lsp`, stdio) for .afs files.
"use strict";
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const [command, ...args] = vscode.workspace
    .getConfiguration("afdsl")
    .get("command", ["afdsl", "lsp"]);
  client = new LanguageClient(
    "afdsl",
    "afdsl language server",
    { command, args },
    { documentSelector: [{ scheme: "file", language: "afs" }] }
  );
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
