#include "agent/ports.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/util.h"

#define PORT_COUNT 65536

int berth_port_allocator_init(berth_port_allocator *allocator, int min, int max, berth_error *err)
{
    if (min < 1 || max > PORT_COUNT || min >= max)
        return berth_error_set(err, BERTH_E_INVALID,
                               "invalid dynamic port range %d-%d: need 1 <= min < max <= 65536",
                               min, max);
    pthread_mutex_init(&allocator->lock, NULL);
    allocator->min = min;
    allocator->max = max;
    allocator->reserved = berth_xcalloc(PORT_COUNT, 1);
    unsigned seed = 0;
    if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed))
        seed = (unsigned)getpid();
    /* A random start keeps two berth processes on one host from trying the
     * same ports in the same order. */
    allocator->next_offset = seed % (unsigned)(max - min);
    return 0;
}

void berth_port_allocator_destroy(berth_port_allocator *allocator)
{
    free(allocator->reserved);
    allocator->reserved = NULL;
    pthread_mutex_destroy(&allocator->lock);
}

static bool bind_once(const char *host_ip, int port, int type)
{
    struct sockaddr_storage address;
    socklen_t length;
    memset(&address, 0, sizeof(address));
    struct sockaddr_in *v4 = (struct sockaddr_in *)&address;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&address;
    if (inet_pton(AF_INET, host_ip, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        length = sizeof(*v4);
    } else if (inet_pton(AF_INET6, host_ip, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        length = sizeof(*v6);
    } else {
        return false;
    }
    int fd = socket(address.ss_family, type | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    bool bound = bind(fd, (struct sockaddr *)&address, length) == 0;
    close(fd);
    return bound;
}

bool berth_port_is_bindable(const char *host_ip, int port)
{
    return bind_once(host_ip, port, SOCK_STREAM) && bind_once(host_ip, port, SOCK_DGRAM);
}

int berth_port_reserve_static(berth_port_allocator *allocator, const char *host_ip, int port,
                              berth_error *err)
{
    if (port < 1 || port >= PORT_COUNT)
        return berth_error_set(err, BERTH_E_INVALID, "invalid static port %d: must be 1 to 65535",
                               port);
    pthread_mutex_lock(&allocator->lock);
    if (allocator->reserved[port]) {
        pthread_mutex_unlock(&allocator->lock);
        return berth_error_set(err, BERTH_E_CONFLICT,
                               "static port %d is already reserved by another task", port);
    }
    if (!berth_port_is_bindable(host_ip, port)) {
        pthread_mutex_unlock(&allocator->lock);
        return berth_error_set(err, BERTH_E_CONFLICT,
                               "static port %d is in use on %s (tcp or udp)", port, host_ip);
    }
    allocator->reserved[port] = 1;
    pthread_mutex_unlock(&allocator->lock);
    return 0;
}

int berth_port_reserve_dynamic(berth_port_allocator *allocator, const char *host_ip, int *port,
                               berth_error *err)
{
    pthread_mutex_lock(&allocator->lock);
    unsigned span = (unsigned)(allocator->max - allocator->min);
    for (unsigned tried = 0; tried < span; tried++) {
        int candidate = allocator->min + (int)((allocator->next_offset + tried) % span);
        if (allocator->reserved[candidate] || !berth_port_is_bindable(host_ip, candidate))
            continue;
        allocator->reserved[candidate] = 1;
        allocator->next_offset = (allocator->next_offset + tried + 1) % span;
        pthread_mutex_unlock(&allocator->lock);
        *port = candidate;
        return 0;
    }
    pthread_mutex_unlock(&allocator->lock);
    return berth_error_set(err, BERTH_E_CONFLICT, "no free dynamic port in %d-%d on %s",
                           allocator->min, allocator->max - 1, host_ip);
}

void berth_port_release(berth_port_allocator *allocator, int port)
{
    if (port < 1 || port >= PORT_COUNT)
        return;
    pthread_mutex_lock(&allocator->lock);
    allocator->reserved[port] = 0;
    pthread_mutex_unlock(&allocator->lock);
}
