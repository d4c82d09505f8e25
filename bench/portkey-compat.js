// Preloaded (`node -r`) into the Portkey gateway by the benchmark; not part of llm-proxy.
//
// 1. Node 20's fetch returns responses whose headers are immutable, and the gateway's streaming path appends to
//    them (`TypeError: immutable` in `Headers.append`), so every streamed call fails. Each fetch response is
//    re-wrapped in a new Response with a mutable copy of its headers, body untouched.
// 2. The gateway listens on every interface; the benchmark keeps it on 127.0.0.1.
"use strict";

const net = require("node:net");

const originalFetch = globalThis.fetch;
globalThis.fetch = async function fetchWithMutableHeaders(...args) {
  const response = await originalFetch(...args);
  return new Response(response.body, {
    status: response.status,
    statusText: response.statusText,
    headers: new Headers(response.headers),
  });
};

const originalListen = net.Server.prototype.listen;
net.Server.prototype.listen = function listenOnLoopback(...args) {
  const options = args[0];
  if (
    typeof options === "object" &&
    options !== null &&
    !Array.isArray(options)
  ) {
    args[0] = { ...options, host: "127.0.0.1" };
  } else if (typeof options === "number") {
    const rest = args.slice(1).filter((value) => typeof value !== "string");
    args.splice(0, args.length, options, "127.0.0.1", ...rest);
  }
  return originalListen.apply(this, args);
};
