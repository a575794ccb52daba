/* src/clock/chatter.c: being written */
