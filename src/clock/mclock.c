/* src/clock/mclock.c: being written */
