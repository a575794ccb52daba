/* src/clock/vclock.c: being written */
