build2/src/arena.o: src/arena.c include/arena.h include/util.h
include/arena.h:
include/util.h:
