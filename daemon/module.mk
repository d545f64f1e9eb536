PROGRAMS += ayad
ayad_SRCS := daemon/main.c daemon/reload.c daemon/ctl.c daemon/store.c daemon/ctl_svc.c daemon/rebuild.c daemon/probes.c daemon/ctl_backends.c daemon/gossip.c daemon/ctl_gossip.c
