/* src/trace/parse.c: being written */
