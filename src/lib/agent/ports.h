/* Host port reservations for task networks.
 *
 * Dynamic ports come from [min, max) (Nomad's defaults are 20000 to 32000).
 * A port is handed out only when it is not already reserved here and both a
 * TCP and a UDP socket can bind it on the host IP, because the driver
 * publishes every port on both protocols. */
#ifndef BERTH_AGENT_PORTS_H
#define BERTH_AGENT_PORTS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"

#define BERTH_PORTS_DEFAULT_MIN 20000
#define BERTH_PORTS_DEFAULT_MAX 32000

typedef struct berth_port_allocator {
    pthread_mutex_t lock;
    int min, max;
    unsigned char *reserved; /* one flag per port, 65536 entries */
    unsigned next_offset;    /* where the next dynamic search starts */
} berth_port_allocator;

int berth_port_allocator_init(berth_port_allocator *allocator, int min, int max, berth_error *err);
void berth_port_allocator_destroy(berth_port_allocator *allocator);

/* Reserves a static port. Fails with BERTH_E_CONFLICT when it is reserved
 * already or cannot be bound on host_ip. */
int berth_port_reserve_static(berth_port_allocator *allocator, const char *host_ip, int port,
                              berth_error *err);
/* Reserves a free port from the dynamic range into *port. */
int berth_port_reserve_dynamic(berth_port_allocator *allocator, const char *host_ip, int *port,
                               berth_error *err);
void berth_port_release(berth_port_allocator *allocator, int port);

/* Reports whether TCP and UDP sockets can both bind host_ip:port now. */
bool berth_port_is_bindable(const char *host_ip, int port);

#endif
