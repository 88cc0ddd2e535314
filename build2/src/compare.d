build2/src/compare.o: src/compare.c include/compare.h include/util.h \
 include/json.h include/arena.h include/value.h
include/compare.h:
include/util.h:
include/json.h:
include/arena.h:
include/value.h:
