/* Replays every regular file in a directory through the fuzz entry point,
 * so the corpus runs under the sanitizers without libFuzzer. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "core/buf.h"
#include "core/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The corpus is grown with -max_len=4096. This bound only keeps a stray
 * large file from being read whole. */
#define REPLAY_MAX_INPUT (1024 * 1024)

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIRECTORY\n", argv[0]);
        return 2;
    }
    DIR *directory = opendir(argv[1]);
    if (directory == NULL) {
        perror(argv[1]);
        return 1;
    }
    size_t replayed = 0;
    struct dirent *entry;
    while ((entry = readdir(directory)) != NULL) {
        berth_autofree char *path = berth_xasprintf("%s/%s", argv[1], entry->d_name);
        struct stat info;
        if (stat(path, &info) != 0 || !S_ISREG(info.st_mode))
            continue;
        berth_error err = BERTH_ERROR_INIT;
        berth_autofree char *data = NULL;
        size_t length = 0;
        if (berth_read_file(path, REPLAY_MAX_INPUT, &data, &length, &err) < 0) {
            fprintf(stderr, "replay: %s\n", err.message);
            closedir(directory);
            return 1;
        }
        LLVMFuzzerTestOneInput((const uint8_t *)data, length);
        replayed++;
    }
    closedir(directory);
    printf("replayed %zu inputs from %s\n", replayed, argv[1]);
    return 0;
}
