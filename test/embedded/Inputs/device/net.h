/* net.h — the network a device program is compiled against (-DNET=name -DUP=NAME): includes
 * NAME.h and names its pieces: CAT(NET, _forward), real, N_IN and N_OUT. */
#ifndef DEVICE_NET_H
#define DEVICE_NET_H

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define STR_(a) #a
#define STR(a) STR_(a)
#include STR(NET.h)

typedef CAT(NET, _real) real;
#define N_IN CAT(UP, _N_INPUTS)
#define N_OUT CAT(UP, _N_OUTPUTS)

#endif
