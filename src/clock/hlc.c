/* src/clock/hlc.c: being written */
