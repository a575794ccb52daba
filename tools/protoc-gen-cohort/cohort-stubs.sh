#!/bin/sh
# tools/protoc-gen-cohort/cohort-stubs.sh — what cohort_stubs_gen runs for
# one .proto: protoc-c for the messages and protoc-gen-cohort for the
# stubs, both into the generator's output directory. The plain command
# line it stands for is in docs/rpc-stubs.md.
#
# usage: cohort-stubs.sh PROTOC PROTOC_C PLUGIN OUT_DIR DIR/FILE.proto
# (imports are looked up in DIR)
set -eu
protoc=$1 protoc_c=$2 plugin=$3 out=$4 input=$5
dir=$(dirname "$input")
name=$(basename "$input")
"$protoc_c" --proto_path="$dir" --c_out="$out" "$dir/$name"
"$protoc" --plugin=protoc-gen-cohort="$plugin" --proto_path="$dir" \
  --cohort_out="$out" "$dir/$name"
