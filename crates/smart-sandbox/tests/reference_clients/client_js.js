// Drives client-js (npm fhirclient) through a SMART launch against the sandbox, as a Node
// app would run it: an app server on 127.0.0.1 (launch and callback routes), and this
// script playing the browser between the app and the sandbox (which approves at once).
//
// Usage: node client_js.js FHIR_BASE CLIENT_ID [LAUNCH]
// Prints one JSON line: the patient read, and whether the refresh worked.
"use strict";
const http = require("http");
const smart = require("fhirclient");

const [base, clientId, launch] = process.argv.slice(2);
const scope = "openid fhirUser offline_access patient/*.rs " + (launch ? "launch" : "launch/patient");

// One user, one session: the app's server-side storage.
const session = {};
const storage = {
  get: async (key) => session[key],
  set: async (key, value) => { session[key] = value; return value; },
  unset: async (key) => { const had = key in session; delete session[key]; return had; },
};

let finish;
const result = new Promise((resolve, reject) => { finish = { resolve, reject }; });

const app = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url, "http://127.0.0.1");
    if (url.pathname === "/launch") {
      await smart(req, res, storage).authorize({
        clientId,
        scope,
        redirectUri: "/callback",
        // A standalone launch names the server; an EHR launch brings iss and launch.
        ...(launch ? {} : { iss: base }),
      });
      return;
    }
    if (url.pathname === "/callback") {
      const client = await smart(req, res, storage).ready();
      const patient = await client.request("Patient/" + client.patient.id);
      const first = client.state.tokenResponse.access_token;
      await client.refresh();
      const second = client.state.tokenResponse.access_token;
      const again = await client.request("Patient/" + client.patient.id);
      const answer = {
        patient: patient.id,
        refreshed: first !== second,
        read_after_refresh: again.id,
      };
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(answer));
      finish.resolve(answer);
      return;
    }
    res.writeHead(404);
    res.end();
  } catch (error) {
    res.writeHead(500);
    res.end(String(error));
    finish.reject(error);
  }
});

async function browse(url) {
  const answer = await fetch(url, { redirect: "manual" });
  return { status: answer.status, location: answer.headers.get("location"), body: await answer.text() };
}

app.listen(0, "127.0.0.1", async () => {
  const appUrl = "http://127.0.0.1:" + app.address().port;
  const timer = setTimeout(() => finish.reject(new Error("no answer in 20 s")), 20000);
  try {
    let start = appUrl + "/launch";
    if (launch) {
      start += "?" + new URLSearchParams({ iss: base, launch });
    }
    const toServer = await browse(start);
    if (!toServer.location) throw new Error("the app did not redirect: " + toServer.status + " " + toServer.body);
    const toApp = await browse(toServer.location);
    if (!toApp.location) throw new Error("the sandbox did not redirect: " + toApp.status + " " + toApp.body);
    const done = await browse(new URL(toApp.location, appUrl).href);
    if (done.status !== 200) throw new Error("the callback failed: " + done.status + " " + done.body);
    console.log(JSON.stringify(await result));
    clearTimeout(timer);
    app.close();
  } catch (error) {
    clearTimeout(timer);
    console.error(String(error && error.stack || error));
    process.exitCode = 1;
    app.close();
  }
});
