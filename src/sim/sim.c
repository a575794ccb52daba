/* src/sim/sim.c: being written */
