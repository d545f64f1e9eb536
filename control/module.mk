control_SRCS := control/codec.c control/client.c control/server.c control/render.c
PROGRAMS += ayactl
ayactl_SRCS := control/ayactl.c
