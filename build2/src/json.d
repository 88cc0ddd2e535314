build2/src/json.o: src/json.c include/json.h include/arena.h \
 include/util.h include/value.h
include/json.h:
include/arena.h:
include/util.h:
include/value.h:
