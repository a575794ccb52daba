/* src/trace/format.c: being written */
