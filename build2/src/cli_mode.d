build2/src/cli_mode.o: src/cli_mode.c include/cli.h include/config.h \
 include/arena.h include/json.h include/util.h include/value.h \
 include/json.h
include/cli.h:
include/config.h:
include/arena.h:
include/json.h:
include/util.h:
include/value.h:
include/json.h:
