build2/src/config_modules.o: src/config_modules.c include/config.h \
 include/arena.h include/json.h include/util.h include/value.h
include/config.h:
include/arena.h:
include/json.h:
include/util.h:
include/value.h:
