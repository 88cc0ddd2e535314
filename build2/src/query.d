build2/src/query.o: src/query.c include/query.h include/arena.h \
 include/util.h include/value.h
include/query.h:
include/arena.h:
include/util.h:
include/value.h:
