PROGRAMS += ayad
ayad_SRCS := daemon/main.c daemon/reload.c daemon/ctl.c daemon/store.c daemon/rebuild.c daemon/probes.c daemon/gossip.c daemon/steer.c daemon/metrics.c
