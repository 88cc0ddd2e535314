build2/src/util.o: src/util.c include/util.h
include/util.h:
