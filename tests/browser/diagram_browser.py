#!/usr/bin/env python3
"""diagram_browser.py: open space-time diagrams in headless Chromium (issue
13 s.5) and check what a person would see, over the DevTools protocol.

For each page: load it from file://, wait until the viewer says it is ready
(document.body.dataset.ready), and check that it decoded every event, drew
one lane per node, lists the protocols and the six kinds of event, and
painted the canvas (lifelines and events: enough non-white pixels, in the
event colours); save a screenshot. With --zoom it also zooms from the whole
run (density view) to a window of a few milliseconds (single messages) and
filters two nodes, checking the counts and taking a screenshot of each.
Prints the load time measured by the page and by the wall clock.

usage: diagram_browser.py OUTDIR PAGE.html EVENTS LANES [--zoom] [--max-load S]
         ... (PAGE EVENTS LANES [--zoom] [--max-load S]) repeated
Exit 0 when every check passed, 1 on a failed check, 77 (skip) when no
Chromium or python3-websocket is installed, with the reason.
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

try:
    import websocket  # python3-websocket (Debian)
except ImportError:
    print("SKIP: python3-websocket is not installed (scripts/install-deps installs it)")
    sys.exit(77)

CHROMIUM = next((p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser",
                             shutil.which("chromium") or "") if p and os.path.exists(p)), None)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-default-apps", "--disable-extensions", "--mute-audio",
         "--hide-scrollbars", "--window-size=1400,900"]


class Tab:
    def __init__(self, ws):
        self.ws, self.n = ws, 0

    def call(self, method, **params):
        self.n += 1
        self.ws.send(json.dumps({"id": self.n, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.n:
                if "error" in msg:
                    raise RuntimeError("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})

    def js(self, expr):
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise RuntimeError("js %s: %s" % (expr, r["exceptionDetails"]))
        return r["result"].get("value")

    def shot(self, path):
        data = self.call("Page.captureScreenshot", format="png")["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))


def start_browser(profile):
    proc = subprocess.Popen([CHROMIUM] + FLAGS + ["--user-data-dir=" + profile,
                                                  "--remote-debugging-port=0", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port_file = os.path.join(profile, "DevToolsActivePort")
    for _ in range(300):
        if os.path.exists(port_file) and open(port_file).read().strip():
            port = int(open(port_file).read().split()[0])
            break
        if proc.poll() is not None:
            raise RuntimeError("chromium exited with %d at start" % proc.returncode)
        time.sleep(0.1)
    else:
        proc.kill()
        raise RuntimeError("chromium did not open its debugging port in 30 s")
    pages = json.load(urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port, timeout=10))
    page = next(p for p in pages if p.get("type") == "page")
    ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=120,
                                     suppress_origin=True)
    return proc, Tab(ws)


PAINT = """(() => { const c = document.getElementById('c'), g = c.getContext('2d');
  const d = g.getImageData(0, 0, c.width, c.height).data; let ink = 0, colour = 0;
  for (let i = 0; i < d.length; i += 16) {
    const r = d[i], gg = d[i + 1], b = d[i + 2], a = d[i + 3];
    if (a && (r < 235 || gg < 235 || b < 235)) ink++;
    if (a && Math.max(r, gg, b) - Math.min(r, gg, b) > 60) colour++;
  }
  return [ink, colour, d.length / 16]; })()"""


def check_page(tab, outdir, page, events, lanes, zoom, max_load):
    name = os.path.splitext(os.path.basename(page))[0]
    t0 = time.time()
    tab.call("Page.navigate", url="file://" + os.path.abspath(page))
    state = None
    while time.time() - t0 < 120:
        state = tab.js("document.body && document.body.dataset.ready")
        if state:
            break
        time.sleep(0.05)
    wall = time.time() - t0
    status = tab.js("document.getElementById('status').textContent")
    if state != "1":
        raise AssertionError("%s: not ready after %.1f s (%s): %s" % (name, wall, state, status))
    d = tab.js("({n: cohortDiagram.events, lanes: cohortDiagram.lanes, ms: cohortDiagram.loadMs,"
               " protos: document.querySelectorAll('#protos label').length,"
               " kinds: document.querySelectorAll('#kinds input').length})")
    assert d["n"] == events, "%s: %s events decoded, want %d" % (name, d["n"], events)
    assert d["lanes"] == lanes, "%s: %s lanes, want %d" % (name, d["lanes"], lanes)
    assert d["protos"] >= 1 and d["kinds"] == 6, "%s: filters missing: %s" % (name, d)
    assert "events in view" in status, "%s: status '%s'" % (name, status)
    ink, colour, px = tab.js(PAINT)
    assert ink > px * 0.01 and colour > px * 0.001, \
        "%s: canvas nearly blank: %d inked, %d coloured of %d sampled" % (name, ink, colour, px)
    tab.shot(os.path.join(outdir, name + ".png"))
    print("%s: %d events, %d lanes, ready in %.2f s (page's own measure %.2f s), "
          "%d%% of the canvas inked; %s" % (name, events, lanes, wall, d["ms"] / 1000,
                                             100 * ink // px, status))
    assert wall <= max_load, "%s: took %.1f s to open, more than %.0f s" % (name, wall, max_load)
    if zoom:
        check_zoom(tab, outdir, name, events)


def check_zoom(tab, outdir, name, events):
    whole = tab.js("cohortDiagram.inView()")
    assert "density" in tab.js("document.getElementById('status').textContent") or \
        whole < 12000, "%s: whole run not in density view" % name
    # a 2 ms window in the middle of the run: single messages, arrows drawn
    mid = tab.js("cohortDiagram.view.off = 0, (cohortDiagram.events, 1)")
    assert mid == 1
    span = tab.js("(() => { const v = cohortDiagram; v.setWindow(5.0, 5.002); return 1; })()")
    time.sleep(0.3)
    n = tab.js("new Promise(r => requestAnimationFrame(() => r(cohortDiagram.inView())))")
    status = tab.js("document.getElementById('status').textContent")
    assert 0 < n < 12000 and "density" not in status, "%s: zoomed: %d in view (%s)" % (
        name, n, status)
    tab.shot(os.path.join(outdir, name + "-zoom.png"))
    tab.js("cohortDiagram.setNodes('1,3')")
    lanes = tab.js("cohortDiagram.shownLanes()")
    assert lanes == 2, "%s: --nodes 1,3 shows %d lanes" % (name, lanes)
    tab.shot(os.path.join(outdir, name + "-nodes.png"))
    print("%s: whole run %d events in view (density), 2 ms window %d events (%s), "
          "nodes 1,3: %d lanes" % (name, whole, n, status, lanes))
    del span


def main():
    args = sys.argv[1:]
    if len(args) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    if not CHROMIUM:
        print("SKIP: no Chromium (Debian: apt-get install chromium; scripts/install-deps does)")
        return 77
    outdir, rest = args[0], args[1:]
    os.makedirs(outdir, exist_ok=True)
    pages = []
    while rest:
        page, events, lanes, rest = rest[0], int(rest[1]), int(rest[2]), rest[3:]
        zoom, max_load = False, 30.0
        while rest and rest[0].startswith("--"):
            if rest[0] == "--zoom":
                zoom, rest = True, rest[1:]
            elif rest[0] == "--max-load":
                max_load, rest = float(rest[1]), rest[2:]
            else:
                raise SystemExit("unknown option " + rest[0])
        pages.append((page, events, lanes, zoom, max_load))
    profile = tempfile.mkdtemp(prefix="cohort%d-chromium." % os.getpid())
    proc = None
    try:
        proc, tab = start_browser(profile)
        tab.call("Page.enable")
        for p in pages:
            check_page(tab, outdir, *p)
    except (AssertionError, RuntimeError) as e:
        print("FAIL: %s" % e, file=sys.stderr)
        return 1
    finally:
        if proc:
            proc.kill()
            proc.wait()
        shutil.rmtree(profile, ignore_errors=True)
    print("browser: %d pages opened and checked" % len(pages))
    return 0


if __name__ == "__main__":
    sys.exit(main())
