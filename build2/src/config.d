build2/src/config.o: src/config.c include/config.h include/arena.h \
 include/json.h include/util.h include/value.h include/json.h
include/config.h:
include/arena.h:
include/json.h:
include/util.h:
include/value.h:
include/json.h:
