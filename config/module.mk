config_SRCS := config/config.c config/schema.c config/yaml.c config/services.c config/zone.c \
	config/parse.c config/countries.c config/monitors.c config/gossip.c \
	config/hash.c config/rrl.c config/tsig.c config/dnssec.c
