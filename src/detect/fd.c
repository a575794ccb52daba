/* src/detect/fd.c: being written */
