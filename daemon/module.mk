PROGRAMS += ayad
ayad_SRCS := daemon/main.c daemon/reload.c daemon/ctl.c
