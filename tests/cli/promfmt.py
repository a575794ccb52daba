#!/usr/bin/env python3
"""promfmt.py: a strict checker of the Prometheus text exposition format
(version 0.0.4), for tests where promtool is not installed (Debian ships it
only inside the prometheus server package).

Checks: every line ends in \\n; comments are "# HELP name text" or
"# TYPE name type" (at most one each per family, TYPE before its samples,
type known); samples are `name{label="value",...} value [timestamp]` with
valid names, label names, escapes (\\\\ \\" \\n only) and float values
(NaN, +Inf, -Inf allowed); a family's samples are contiguous; no series
appears twice; counters end in _total and are >= 0.

usage: promfmt.py FILE [--require NAME[{label="v"}]]...   (exit 1 on error)
A --require names a series (or a family, without braces) that must exist.
"""
import math
import re
import sys

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
SAMPLE = re.compile(r"^(%s)(\{(.*)\})? ([^ ]+)( -?[0-9]+)?$" % NAME)
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def parse_labels(text, where):
    labels, i = [], 0
    while i < len(text):
        m = re.match(r"(%s)=\"" % LABEL, text[i:])
        if not m:
            raise ValueError("%s: bad label at '%s'" % (where, text[i:]))
        name, i, value = m.group(1), i + m.end(), ""
        while True:
            if i >= len(text):
                raise ValueError("%s: unterminated label value" % where)
            ch = text[i]
            if ch == "\\":
                if i + 1 >= len(text) or text[i + 1] not in '\\"n':
                    raise ValueError("%s: bad escape in label value" % where)
                value += text[i:i + 2]
                i += 2
            elif ch == '"':
                i += 1
                break
            elif ch == "\n":
                raise ValueError("%s: newline in label value" % where)
            else:
                value += ch
                i += 1
        if name in [n for n, _ in labels]:
            raise ValueError("%s: label %s twice" % (where, name))
        labels.append((name, value))
        if i < len(text):
            if text[i] != ",":
                raise ValueError("%s: expected ',' between labels" % where)
            i += 1
    return tuple(sorted(labels))


def family_of(name, types):
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[:-len(suffix)]
        if name.endswith(suffix) and types.get(base) in ("histogram", "summary"):
            return base
    return name


def check(text):
    if text and not text.endswith("\n"):
        raise ValueError("the last line does not end in a newline")
    types, helps, series, done, current = {}, set(), {}, set(), None
    for no, line in enumerate(text.split("\n")[:-1], 1):
        where = "line %d" % no
        if line.startswith("#"):
            m = re.match(r"^# (HELP|TYPE) (%s)(?: (.*))?$" % NAME, line)
            if not m:
                if re.match(r"^# (HELP|TYPE)", line):
                    raise ValueError("%s: malformed %s" % (where, line))
                continue
            kind, name, rest = m.groups()
            if name in done:
                raise ValueError("%s: %s of %s after its samples ended" % (where, kind, name))
            if kind == "TYPE":
                if name in types or rest not in TYPES:
                    raise ValueError("%s: TYPE %s repeated or unknown '%s'" % (where, name, rest))
                if any(family_of(s, types) == name for s, _ in series):
                    raise ValueError("%s: TYPE %s after its samples" % (where, name))
                types[name] = rest
            else:
                if name in helps:
                    raise ValueError("%s: HELP %s repeated" % (where, name))
                if rest and re.search(r"\\[^\\n]", rest):
                    raise ValueError("%s: bad escape in HELP" % where)
                helps.add(name)
            continue
        if not line.strip():
            raise ValueError("%s: empty line" % where)
        m = SAMPLE.match(line)
        if not m:
            raise ValueError("%s: not a sample: %s" % (where, line))
        name, _, labels, value, _ = m.groups()
        lab = parse_labels(labels or "", where)
        try:
            v = float(value) if value not in ("NaN", "+Inf", "-Inf") else float(value.replace("+", ""))
        except ValueError:
            raise ValueError("%s: bad value '%s'" % (where, value))
        if value.lower() in ("nan", "inf", "+inf", "-inf") and value not in ("NaN", "+Inf", "-Inf"):
            raise ValueError("%s: value '%s' spelled the wrong way" % (where, value))
        fam = family_of(name, types)
        if fam != current:
            if fam in done:
                raise ValueError("%s: samples of %s not contiguous" % (where, fam))
            if current:
                done.add(current)
            current = fam
        if (name, lab) in series:
            raise ValueError("%s: series %s%s repeated" % (where, name, labels or ""))
        series[(name, lab)] = v
        if types.get(fam) == "counter":
            if not name.endswith("_total"):
                raise ValueError("%s: counter %s does not end in _total" % (where, name))
            if math.isnan(v) or v < 0:
                raise ValueError("%s: counter %s is %s" % (where, name, value))
    return series


def main():
    args = sys.argv[1:]
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    text = open(args[0], encoding="utf-8").read()
    try:
        series = check(text)
    except ValueError as e:
        print("promfmt: %s: %s" % (args[0], e), file=sys.stderr)
        return 1
    missing = []
    for i, a in enumerate(args):
        if a == "--require" and i + 1 < len(args):
            want = args[i + 1]
            if "{" in want:
                name, lab = want.split("{", 1)
                found = (name, parse_labels(lab.rstrip("}"), "require")) in series
            else:
                found = any(n == want for n, _ in series)
            if not found:
                missing.append(want)
    if missing:
        print("promfmt: %s: missing %s" % (args[0], ", ".join(missing)), file=sys.stderr)
        return 1
    print("promfmt: %s: %d series, format ok" % (args[0], len(series)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
