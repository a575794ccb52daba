/* src/core/node.c: being written */
