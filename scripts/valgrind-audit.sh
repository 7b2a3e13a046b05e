#!/bin/sh
# Builds test/native/valgrind/audit_harness.cc against native/audit/ (no Node) and runs it
# under valgrind memcheck. Needs root, g++ and valgrind. Exit status 9 on any finding.
set -eu
cd "$(dirname "$0")/.."
out="${TMPDIR:-/tmp}/pmg-audit-harness"
# The backend and what it links against outside native/audit: the shared helpers and target
# enrichment (the harness's process table is a stub that knows no process).
g++ -std=c++17 -g -O1 -Wall -Wextra -Werror -Inative -o "$out" test/native/valgrind/audit_harness.cc \
  $(find native/audit -name '*.cc' ! -name 'audit_napi.cc' | sort) native/util/*.cc \
  native/proc/target_info.cc native/proc/target_relation.cc native/proc/procfs.cc \
  native/proc/container_id.cc -lpthread
exec valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect,possible \
  --error-exitcode=9 --track-fds=yes "$out"
