/* src/runtime/runtime.c: being written */
