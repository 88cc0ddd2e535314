build2/src/http1.o: src/http1.c include/http1.h include/util.h
include/http1.h:
include/util.h:
