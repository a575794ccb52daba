/* src/core/auth.c: being written */
