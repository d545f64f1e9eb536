# aya-loadgen: the UDP load generator used by scripts/bench.sh and by the
# integration tests (zero loss under reload).
PROGRAMS += aya-loadgen
aya-loadgen_SRCS := tests/bench/loadgen.c
