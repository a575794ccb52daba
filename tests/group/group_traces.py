#!/usr/bin/env python3
"""tests/group/group_traces.py — reads the JSON Lines traces of `cohort node
--proto group` processes (docs/group-trace.md) for tests/group/group_cluster.sh.

  wait TIMEOUT_S SIZE [--without ID] [--with ID] [--not-inc ID:INC]
       [--state-from TRACE] [--since NS] TRACE...
      Poll (every 50 ms, at most TIMEOUT_S) until the newest view in every
      TRACE has SIZE members, leaves out node ID (--without), holds node ID
      (--with) and not as incarnation INC (--not-inc), and, with
      --state-from, that trace holds a state_installed. On success prints
      "<ms>" — the time from --since (ns, CLOCK_REALTIME) to the latest of
      those view installs — and exits 0; else prints what each trace holds
      and exits 1.

  check TRACE...
      The group properties over all traces (each file may hold one or more
      processes, told apart by (node, inc)); exits 1 listing violations:
        view-agreement  every process that installs a vid lists the same
                        members (with incarnations) and the same primary flag;
        view-order      each process installs views in strictly increasing
                        epochs;
        view-synchrony  a message is delivered in the same view everywhere,
                        the view it was sent in;
        integrity       no process delivers a message twice; every
                        delivered mid was sent (gsend) by its sender;
        state-transfer  a process whose view says "state":"pending"
                        delivers nothing before its state_installed;
        liveness        at least one message was delivered, and by every
                        process whose trace goes on for a second or more after
                        it first entered a view of more than one.
      Prints a summary line (processes, views, sends, deliveries).

Only the standard library: the test needs nothing but python3.
"""
import json
import sys
import time


def read(path):
    """The group state records of one trace, in file order. A last line cut
    short (a process killed mid-write; the runtime writes whole records, so
    this should not happen) is ignored, nothing else is."""
    out = []
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.readlines()
    except FileNotFoundError:
        return out
    for i, line in enumerate(lines):
        line = line.strip()
        if not line:
            continue
        try:
            r = json.loads(line)
        except json.JSONDecodeError:
            if i == len(lines) - 1:
                break
            raise SystemExit(f"{path}:{i + 1}: not JSON: {line[:80]}")
        if r.get("ev") == "state" and r.get("proto") == "group":
            out.append(r)
    return out


def last_view(recs):
    views = [r for r in recs if r["what"] == "view"]
    return views[-1] if views else None


def view_ok(v, size, without, with_, not_inc):
    if v is None:
        return False
    ids = [m[0] for m in v["data"]["members"]]
    if len(ids) != size:
        return False
    if any(w in ids for w in without) or any(w not in ids for w in with_):
        return False
    for nid, inc in not_inc:
        if [nid, inc] in v["data"]["members"]:
            return False
    return True


def cmd_wait(argv):
    timeout_s, size = float(argv[0]), int(argv[1])
    without, with_, not_inc, traces = [], [], [], []
    state_from, since = None, None
    i = 2
    while i < len(argv):
        a = argv[i]
        if a in ("--without", "--with", "--not-inc", "--state-from", "--since"):
            v = argv[i + 1]
            i += 2
            if a == "--without":
                without.append(int(v))
            elif a == "--with":
                with_.append(int(v))
            elif a == "--not-inc":
                nid, inc = v.split(":")
                not_inc.append((int(nid), int(inc)))
            elif a == "--state-from":
                state_from = v
            else:
                since = int(v)
            continue
        traces.append(a)
        i += 1
    deadline = time.monotonic() + timeout_s
    while True:
        views = {t: last_view(read(t)) for t in traces}
        ok = all(view_ok(v, size, without, with_, not_inc) for v in views.values())
        if ok and state_from:
            ok = any(r["what"] == "state_installed" for r in read(state_from))
        if ok:
            latest = max(v["tt"] for v in views.values())
            print((latest - since) // 1000000 if since else 0)
            return 0
        if time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    for t, v in views.items():
        d = v["data"] if v else None
        print(f"  {t}: {'no view' if not d else d['vid'] + ' ' + str(d['members'])}",
              file=sys.stderr)
    return 1


def cmd_check(traces):
    procs = {}  # (node, inc) -> records in order
    for t in traces:
        for r in read(t):
            procs.setdefault((r["node"], r["inc"]), []).append(r)
    bad = []
    vids = {}  # vid -> (members, primary, first process)
    sent = {}  # mid -> (process, vid)
    sends = delivers = 0
    for p, recs in procs.items():
        for r in recs:
            if r["what"] == "gsend":
                sent[r["data"]["mid"]] = (p, r["data"]["vid"])
                sends += 1
    delivered_in = {}  # mid -> vid
    for p, recs in sorted(procs.items()):
        epoch, seen, pending, vid, delivered, big_tt = 0, set(), False, None, 0, None
        for r in recs:
            d, what = r["data"], r["what"]
            if what == "view":
                key = (tuple(map(tuple, d["members"])), d["primary"])
                if d["vid"] in vids and vids[d["vid"]][0:2] != key:
                    bad.append(f"view-agreement: {p} installs {d['vid']} as {d['members']} "
                               f"primary={d['primary']}, {vids[d['vid']][2]} as "
                               f"{list(vids[d['vid']][0])} primary={vids[d['vid']][1]}")
                vids.setdefault(d["vid"], key + (p,))
                if d["epoch"] <= epoch:
                    bad.append(f"view-order: {p} installs epoch {d['epoch']} after {epoch}")
                epoch, vid = d["epoch"], d["vid"]
                pending = d.get("state") == "pending"
                if big_tt is None and len(d["members"]) > 1:
                    big_tt = r["tt"]
            elif what == "state_installed":
                pending = False
            elif what == "gdeliver":
                mid = d["mid"]
                delivered += 1
                if pending:
                    bad.append(f"state-transfer: {p} delivers {mid} before its state")
                if mid in seen:
                    bad.append(f"integrity: {p} delivers {mid} twice")
                seen.add(mid)
                if mid not in sent:
                    bad.append(f"integrity: {p} delivers {mid}, never sent")
                elif sent[mid][1] != d["vid"]:
                    bad.append(f"view-synchrony: {p} delivers {mid} in {d['vid']}, "
                               f"sent in {sent[mid][1]}")
                if delivered_in.setdefault(mid, d["vid"]) != d["vid"]:
                    bad.append(f"view-synchrony: {mid} delivered in {d['vid']} by {p}, "
                               f"in {delivered_in[mid]} elsewhere")
        delivers += delivered
        if big_tt is not None and recs[-1]["tt"] - big_tt >= 10**9 and delivered == 0:
            bad.append(f"liveness: {p} was in a group for a second or more but delivered nothing")
    for b in bad[:40]:
        print("VIOLATION " + b)
    print(f"group traces: {len(procs)} processes, {len(vids)} views, {sends} sends, "
          f"{delivers} deliveries, {len(bad)} violations")
    if delivers == 0:
        print("VIOLATION liveness: no message delivered at all")
        return 1
    return 1 if bad else 0


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("wait", "check"):
        print(__doc__, file=sys.stderr)
        return 2
    return cmd_wait(sys.argv[2:]) if sys.argv[1] == "wait" else cmd_check(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
