build2/src/dashboard.o: src/dashboard.c include/dashboard.h
include/dashboard.h:
