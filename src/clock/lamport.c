/* src/clock/lamport.c: being written */
