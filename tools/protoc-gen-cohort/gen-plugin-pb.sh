#!/bin/sh
# tools/protoc-gen-cohort/gen-plugin-pb.sh — compiles protobuf's own
# descriptor.proto and compiler/plugin.proto with protoc-c, for the plugin
# to parse its CodeGeneratorRequest with. protoc-c mirrors the proto paths
# (google/protobuf/...), but a Meson custom_target declares its outputs flat
# in one directory: so generate into a scratch directory, then copy the four
# files flat and point their #includes at the flat names.
#
# usage: gen-plugin-pb.sh PROTOC_C PROTO_ROOT OUTDIR SCRATCHDIR
set -eu
protoc_c=$1 root=$2 out=$3 scratch=$4
mkdir -p "$scratch"
"$protoc_c" --proto_path="$root" --c_out="$scratch" \
  google/protobuf/descriptor.proto google/protobuf/compiler/plugin.proto
for f in google/protobuf/descriptor.pb-c.c google/protobuf/descriptor.pb-c.h \
         google/protobuf/compiler/plugin.pb-c.c google/protobuf/compiler/plugin.pb-c.h; do
  sed -e 's|#include "google/protobuf/compiler/plugin.pb-c.h"|#include "plugin.pb-c.h"|' \
      -e 's|#include "google/protobuf/descriptor.pb-c.h"|#include "descriptor.pb-c.h"|' \
      "$scratch/$f" > "$out/$(basename "$f")"
done
