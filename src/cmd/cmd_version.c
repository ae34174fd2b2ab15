#include <stdio.h>

#include "cli.h"

#ifndef BERTH_VERSION
#define BERTH_VERSION "0.0.0"
#endif
#ifndef BERTH_GIT_REV
#define BERTH_GIT_REV "unknown"
#endif

int cmd_version(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (cli_flag(argv[i], "help") || cli_flag(argv[i], "h")) {
            puts("Usage: berth version\n\nPrints berth's version and the commit it was built from.");
            return 0;
        }
        fprintf(stderr, "berth version: unexpected argument \"%s\"\n", argv[i]);
        return EXIT_USAGE;
    }
    printf("berth %s (%s)\n", BERTH_VERSION, BERTH_GIT_REV);
    return 0;
}
