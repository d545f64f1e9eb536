control_SRCS := control/codec.c control/codec_svc.c control/client.c control/server.c control/render.c control/render_svc.c control/codec_backends.c control/render_backends.c control/codec_gossip.c control/render_gossip.c \
	control/reply_svc.c control/reply_name.c control/reply_backends.c control/reply_gossip.c \
	control/codec_cost.c control/render_cost.c control/reply_cost.c control/http.c \
	control/codec_top.c control/render_top.c control/codec_dnssec.c control/render_dnssec.c
PROGRAMS += ayactl
ayactl_SRCS := control/ayactl.c
