#!/usr/bin/env python3
"""Embed a text file in C as `const char NAME[]` (build step for lib_trace).

usage: embed.py INPUT OUTPUT NAME
The text is written as a byte array (signed char values) so no escaping rules of C string
literals (trigraphs, length limits) can alter it; a NUL terminates it.
"""
import sys


def main():
    if len(sys.argv) != 4:
        sys.stderr.write("usage: embed.py INPUT OUTPUT NAME\n")
        return 2
    src, dst, name = sys.argv[1:]
    data = open(src, "rb").read()
    with open(dst, "w") as f:
        f.write("/* generated from %s by embed.py: do not edit */\n" % src.split("/")[-1])
        f.write("#include <stddef.h>\n")
        # Hidden: the array is lib_trace's, not part of libcohort's API.
        hidden = "__attribute__((visibility(\"hidden\")))"
        f.write("extern %s const char %s[];\nextern %s const size_t %s_len;\n"
                % (hidden, name, hidden, name))
        f.write("const char %s[] = {\n" % name)
        for i in range(0, len(data), 16):
            f.write("  " + ",".join(str(b if b < 128 else b - 256) for b in data[i:i + 16]) + ",\n")
        f.write("  0};\n")
        f.write("const size_t %s_len = %d;\n" % (name, len(data)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
