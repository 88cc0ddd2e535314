build2/src/value.o: src/value.c include/arena.h include/value.h \
 include/util.h
include/arena.h:
include/value.h:
include/util.h:
