// The dashboard in Debian's headless Chromium, driven by Playwright
// (playwright-core from the npm registry), against the real gateway that
// tests/contract/observe.py started.  Each step prints "ok STEP" or throws.
//
// env: DASH_URL (the page), ADMIN_TOKEN, EXPECT (JSON {route: mode}),
// FLIP_ROUTE, FLIP_TO, CUTOVER_BIN and CUTOVER_CONFIG (to run `cutover mode`),
// GATEWAY_PID (stopped with SIGTERM at the end), SHOTS (screenshot directory),
// MISMATCH_ROUTE (a route with a mismatch made on purpose).
"use strict";
const { chromium } = require("playwright-core");
const { execFileSync } = require("child_process");
const path = require("path");

const env = process.env;
const expect = JSON.parse(env.EXPECT);

function ok(step) { console.log("ok " + step); }
function fail(msg) { throw new Error(msg); }

(async () => {
  const browser = await chromium.launch({
    executablePath: env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const problems = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1760, height: 1000 } });
    page.on("console", (m) => { if (m.type() === "error") problems.push("console: " + m.text()); });
    page.on("pageerror", (e) => problems.push("page error: " + e.message));
    page.on("requestfailed", (r) => problems.push("request failed: " + r.url()));

    await page.goto(env.DASH_URL);
    await page.waitForSelector("#login:not([hidden])");
    if (page.url().includes(env.ADMIN_TOKEN)) fail("the token is in the URL");
    await page.fill("#token", env.ADMIN_TOKEN);
    await page.click("#login button[type=submit]");
    await page.waitForSelector("#main:not([hidden]) #routes tbody tr");
    if (page.url().includes(env.ADMIN_TOKEN)) fail("the token went into the URL");
    ok("token asked once, kept out of the URL");

    // Every route, each with the mode the admin API reports.
    const shown = await page.$$eval("#routes tbody tr", (rows) =>
      Object.fromEntries(rows.map((r) => [r.dataset.route, r.querySelector(".mode").textContent])));
    if (JSON.stringify(Object.keys(shown).sort()) !== JSON.stringify(Object.keys(expect).sort()))
      fail("routes shown " + JSON.stringify(shown) + ", want " + JSON.stringify(expect));
    for (const [route, mode] of Object.entries(expect))
      if (shown[route] !== mode) fail(`${route} shown in ${shown[route]}, want ${mode}`);
    ok("every route listed with its mode");
    await page.screenshot({ path: path.join(env.SHOTS, "dashboard-routes.png"), fullPage: true });

    // At 1280 and 1920 px nothing scrolls sideways and every route's flip
    // control is in view, its labels beside it.
    for (const width of [1280, 1920]) {
      await page.setViewportSize({ width, height: 900 });
      await page.waitForTimeout(300);
      const fit = await page.evaluate(() => {
        const box = document.querySelector("#routes").parentElement;
        return {
          page: document.documentElement.scrollWidth, view: window.innerWidth,
          box: box.scrollWidth, boxView: box.clientWidth,
          controls: [...document.querySelectorAll("#routes tbody tr")].map((tr) => ({
            route: tr.dataset.route,
            right: Math.max(...[...tr.querySelectorAll("select.flip-mode, button.flip")]
              .map((e) => e.getBoundingClientRect().right)),
            label: tr.cells[0].getBoundingClientRect().left,
          })),
        };
      });
      if (fit.page > fit.view || fit.box > fit.boxView)
        fail(`at ${width} px the page scrolls sideways: ` + JSON.stringify(fit));
      for (const c of fit.controls)
        if (c.right > width || c.label < 0) fail(`at ${width} px ${c.route}'s flip control is out of view: ` +
                                                 JSON.stringify(fit));
      await page.screenshot({ path: path.join(env.SHOTS, `dashboard-${width}.png`), fullPage: true });
      ok(`at ${width} px every flip control is in view, nothing scrolls sideways`);
    }
    await page.setViewportSize({ width: 1760, height: 1000 });

    // The mismatch made on purpose, as a diff of the two answers and the patch.
    const mm = `.mismatch[data-route="${env.MISMATCH_ROUTE}"]`;
    await page.waitForSelector(`${mm} .diff .del`, { timeout: 15000 });
    const diff = await page.$eval(mm, (e) => ({
      del: [...e.querySelectorAll(".diff .del")].map((x) => x.textContent),
      add: [...e.querySelectorAll(".diff .add")].map((x) => x.textContent),
      patch: e.querySelector(".patch").textContent,
    }));
    if (!diff.add.some((l) => l.includes(env.MISMATCH_VALUE)))
      fail("the secondary's value is not among the added lines: " + JSON.stringify(diff));
    if (!diff.patch.includes(env.MISMATCH_VALUE)) fail("the patch does not show the value: " + diff.patch);
    ok("a mismatch is rendered as a diff with its JSON Patch");
    await page.locator(mm).first().scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(env.SHOTS, "dashboard-mismatch.png"), fullPage: true });

    // A flip asks first, showing readiness; the route is not ready (the
    // mismatch), so the gate refuses and says why; forced, it is made.
    const row = `#routes tbody tr[data-route="${env.FLIP_ROUTE}"]`;
    await page.selectOption(`${row} select.flip-mode`, env.FLIP_TO);
    await page.click(`${row} button.flip`);
    await page.waitForSelector("#confirm[open]");
    const readiness = await page.textContent("#confirm-readiness");
    if (!/Readiness of .*: not ready: unexplained mismatches \(1 unexplained mismatch, the last/.test(readiness))
      fail("the confirmation shows no readiness verdict: " + readiness);
    await page.screenshot({ path: path.join(env.SHOTS, "dashboard-confirm.png") });
    await page.click("#confirm-ok");
    await page.waitForSelector("#message.bad");
    const gate = await page.textContent("#message");
    if (!/refused: invoices is not ready for live: unexplained mismatches \(1 unexplained mismatch/.test(gate))
      fail("the readiness gate's refusal shows: " + gate);
    if (!/Tick Force in the confirmation to override\.$/.test(gate.trim()) || /"force"/.test(gate))
      fail("the refusal does not point at the checkbox: " + gate);
    ok("a flip the route is not ready for is refused with the reason: " + gate.trim());
    await page.click(`${row} button.flip`);
    await page.waitForSelector("#confirm[open]");
    await page.check("#confirm-force");
    await page.click("#confirm-ok");
    await page.waitForFunction(([r, m]) => {
      const e = document.querySelector(`#routes tbody tr[data-route="${r}"] .mode`);
      return e && e.textContent === m;
    }, [env.FLIP_ROUTE, env.FLIP_TO], { timeout: 10000 });
    const out = execFileSync(env.CUTOVER_BIN, ["mode", "-c", env.CUTOVER_CONFIG], { env }).toString();
    const line = out.split("\n").find((l) => l.split(/\s+/)[0] === env.FLIP_ROUTE);
    if (!line || line.split(/\s+/)[1] !== env.FLIP_TO) fail("cutover mode shows:\n" + out);
    ok("a flip from the page is what cutover mode shows");

    const unexpected = problems.filter((p) => !/status of 409/.test(p));
    if (unexpected.length) fail("the page reported problems:\n" + unexpected.join("\n"));
    // A flip the gateway cannot make says why (the browser logs the 409 it got).
    await page.selectOption(`${row} select.flip-mode`, "passthrough");
    await page.click(`${row} button.flip`);
    await page.waitForSelector("#confirm[open]");
    await page.click("#confirm-ok");
    await page.waitForSelector("#message.bad");
    const refusal = await page.textContent("#message");
    if (!/refused: .+/.test(refusal)) fail("a refused flip shows: " + refusal);
    ok("a refused flip shows the reason: " + refusal.trim());
    const others = problems.filter((p) => !/status of 409/.test(p));
    if (others.length) fail("the page reported problems:\n" + others.join("\n"));

    // The gateway stops: the page says so.
    const before = problems.filter((p) => !/status of 409/.test(p));
    process.kill(Number(env.GATEWAY_PID), "SIGTERM");
    await page.waitForSelector("#unreachable:not([hidden])", { timeout: 15000 });
    await page.screenshot({ path: path.join(env.SHOTS, "dashboard-unreachable.png") });
    ok("a stopped gateway is shown as unreachable");

    // Requests to a stopped gateway fail by design; nothing else may.
    if (before.length) fail("the page reported problems:\n" + before.join("\n"));
    ok("no console errors while the gateway served");
  } finally {
    await browser.close();
  }
})().catch((e) => {
  console.error("FAIL " + (e && e.stack ? e.stack : e));
  process.exit(1);
});
